// The diff panel (workbench/widgets/diffing.py): prompts one per line, an optional
// direction (a registered vector or probe), Run / Cancel with a progress bar, a summary
// with the metric the per-layer altair chart under the panel shows, the compared MLP
// neurons ordered by how much their activation changed, and both models' samples side
// by side. Prompts and samples are untrusted: they go in with textContent only.
import { h } from "./lib/dom";
import { act, mount, runControls } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface NeuronRow {
  layer: number;
  neuron: number;
  activation_self: number;
  activation_other: number;
  change: number;
  value_cosine: number;
}

interface SampleRow {
  prompt: number;
  text: string;
  sample: number;
  self: string;
  other: string;
  same: boolean;
}

interface Summary {
  self?: string;
  other?: string;
  prompts?: number;
  direction?: string;
  most_changed_layer?: number | null;
  max_change?: number;
  samples?: number;
  samples_differ?: number;
}

interface State {
  self_name: string;
  other_name: string;
  prompts: string;
  direction: string;
  n_samples: number;
  max_new_tokens: number;
  metric: string;
  metrics: string[];
  layer_rows: Record<string, number | null>[];
  neuron_rows: NeuronRow[];
  samples: SampleRow[];
  summary: Summary;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
}

const NEURON_COLUMNS: [keyof NeuronRow, string][] = [
  ["layer", "layer"],
  ["neuron", "neuron"],
  ["activation_self", "activation (this)"],
  ["activation_other", "activation (other)"],
  ["change", "change"],
  ["value_cosine", "value-vector cosine"],
];

function fmt(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  return Number.isInteger(value) ? String(value) : value.toPrecision(digits);
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);

    const title = h("div", { class: "wb-title" });
    const prompts = h("textarea", { class: "wb-prompts", attrs: { "aria-label": "prompts", placeholder: "one prompt per line", spellcheck: false } });
    const listId = `wb-directions-${Math.random().toString(36).slice(2)}`;
    const choices = h("datalist", { attrs: { id: listId } });
    const direction = h("input", { class: "wb-direction", attrs: { type: "text", list: listId, placeholder: "vector or probe name", "aria-label": "direction" } });
    const nSamples = h("input", { class: "wb-n-samples", attrs: { type: "number", min: 0, step: 1, "aria-label": "samples per prompt" } });
    const maxTokens = h("input", { class: "wb-max-new-tokens", attrs: { type: "number", min: 1, step: 1, "aria-label": "new tokens" } });
    const start = h("button", { class: "wb-run", text: "Run" });
    const root = h("div", { class: "wb-widget wb-diff" });
    const run = runControls(m, root, request, { start: [start], progress: "running" });
    const summary = h("div", { class: "wb-summary" });
    const metric = h("select", { class: "wb-metric", attrs: { "aria-label": "chart metric" } });
    const neurons = h("div", { class: "wb-neurons" });
    const samples = h("div", { class: "wb-samples" });

    root.append(
      title,
      prompts,
      h("div", { class: "wb-row" }, [
        h("label", { text: "direction " }, [direction, choices]),
        h("label", { text: "samples per prompt " }, [nSamples]),
        h("label", { text: "new tokens " }, [maxTokens]),
      ]),
      h("div", { class: "wb-row" }, [start, ...run.elements]),
      h("div", { class: "wb-row" }, [summary, h("label", { text: "chart " }, [metric])]),
      h("h4", { text: "Neurons" }),
      neurons,
      h("h4", { text: "Samples" }),
      samples,
    );

    start.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));
    prompts.addEventListener("input", () => traits.set("prompts", prompts.value, 300));
    direction.addEventListener("input", () => traits.set("direction", direction.value, 300));
    direction.addEventListener("focus", () => act(root, async () => {
      const names = await request<{ vectors: string[]; probes: string[] }>("directions");
      choices.replaceChildren(
        ...names.vectors.map((n) => h("option", { attrs: { value: n }, text: "steering vector" })),
        ...names.probes.filter((n) => !names.vectors.includes(n)).map((n) => h("option", { attrs: { value: n }, text: "probe" })),
      );
    }));
    const whole = (input: HTMLInputElement, key: "n_samples" | "max_new_tokens", low: number) => {
      input.addEventListener("change", () => act(root, () => {
        const value = Number(input.value);
        if (!Number.isInteger(value) || value < low) throw new Error(`${key} must be a whole number >= ${low}, not ${JSON.stringify(input.value)}.`);
        traits.set(key, value);
      }));
    };
    whole(nSamples, "n_samples", 0);
    whole(maxTokens, "max_new_tokens", 1);
    metric.addEventListener("change", () => traits.set("metric", metric.value));

    const drawInputs = () => {
      title.replaceChildren(h("b", { text: "Model diff " }), h("span", { class: "wb-models wb-muted", text: `${m.get("self_name")} → ${m.get("other_name")}` }));
      if (document.activeElement !== prompts && !traits.pending("prompts")) prompts.value = m.get("prompts");
      if (document.activeElement !== direction && !traits.pending("direction")) direction.value = m.get("direction");
      if (document.activeElement !== nSamples) nSamples.value = String(m.get("n_samples"));
      if (document.activeElement !== maxTokens) maxTokens.value = String(m.get("max_new_tokens"));
    };
    const drawSummary = () => {
      const s = m.get("summary");
      summary.textContent = s.prompts === undefined ? ""
        : `${s.prompts} prompt(s)${s.direction ? ` · direction ${s.direction}` : ""} · ` +
          (s.max_change ? `most changed layer ${s.most_changed_layer} (mean change ${fmt(s.max_change)})` : "no layer's mean residual changed") +
          ` · ${s.samples_differ} of ${s.samples} samples differ`;
      const names = m.get("metrics");
      metric.replaceChildren(...names.map((n) => h("option", { text: n.replace(/_/g, " "), attrs: { value: n } })));
      metric.value = m.get("metric");
      metric.disabled = !names.length;
    };
    const drawNeurons = () => {
      const rows = m.get("neuron_rows");
      if (!rows.length) {
        neurons.replaceChildren(h("div", { class: "wb-muted", text: m.get("summary").prompts === undefined ? "run the comparison to list neurons" : "no neurons compared" }));
        return;
      }
      const table = h("table", {}, [
        h("thead", {}, [h("tr", {}, NEURON_COLUMNS.map(([, label]) => h("th", { text: label })))]),
        h("tbody", {}, rows.map((row) => h("tr", { attrs: { "data-layer": row.layer, "data-neuron": row.neuron } },
          NEURON_COLUMNS.map(([key]) => {
            const value = row[key] as number;
            const cls = key === "change" && value > 0 ? "up" : key === "change" && value < 0 ? "down" : "";
            return h("td", { class: `wb-${key} ${cls}`.trim(), text: fmt(value) });
          })))),
      ]);
      neurons.replaceChildren(table);
    };
    const drawSamples = () => {
      const rows = m.get("samples");
      if (!rows.length) {
        samples.replaceChildren(h("div", { class: "wb-muted", text: m.get("summary").prompts === undefined ? "run the comparison to see both models' samples" : "no samples (samples per prompt is 0)" }));
        return;
      }
      const groups = new Map<number, SampleRow[]>();
      for (const row of rows) groups.set(row.prompt, [...(groups.get(row.prompt) ?? []), row]);
      samples.replaceChildren(...Array.from(groups.values()).map((group) => h("div", { class: "wb-prompt", attrs: { "data-prompt": group[0].prompt } }, [
        h("div", { class: "wb-prompt-text", text: group[0].text }),
        h("div", { class: "wb-head" }, [h("span", { text: `this model: ${m.get("self_name")}` }), h("span", { text: `other: ${m.get("other_name")}` })]),
        ...group.map((row) => h("div", { class: "wb-pair" + (row.same ? " same" : " differs"), title: row.same ? "identical" : "the samples differ" }, [
          h("div", { class: "wb-self", text: row.self }),
          h("div", { class: "wb-other", text: row.other }),
        ])),
      ])));
    };
    return mount(m, el, root, {
      on: {
        self_name: drawInputs,
        other_name: [drawInputs, drawSamples],
        prompts: drawInputs,
        direction: drawInputs,
        n_samples: drawInputs,
        max_new_tokens: drawInputs,
        summary: [drawSummary, drawNeurons, drawSamples],
        metric: drawSummary,
        metrics: drawSummary,
        neuron_rows: drawNeurons,
        samples: drawSamples,
      },
      draw: [drawInputs, drawSummary, drawNeurons, drawSamples],
      run,
      request,
      traits,
    });
  },
};

export default widget;
