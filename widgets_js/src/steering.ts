// The steering panel (workbench/widgets/steering.py): one slider per steering vector,
// the same conversation sampled unsteered and steered side by side on one seed, steered
// tokens tinted by how much steering changed their log-probability. Sliding re-samples
// after a pause (debounced); the kernel cancels a run still going. Model text goes in
// with textContent only (lib/dom.ts).
import { decode, type Payload } from "./lib/buffers";
import { h } from "./lib/dom";
import { act, mount, runControls } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface Vector {
  name: string;
  layer: number;
  source: string;
  scale: number;
}

interface SideSample {
  tokens: string[];
  finish: string;
}

interface Results {
  seed?: number;
  prefill?: string;
  steer?: Record<string, number>;
  unsteered?: SideSample[];
  steered?: SideSample[];
}

interface State {
  text: string;
  prefill: string;
  n: number;
  max_new_tokens: number;
  temperature: number;
  top_p: number;
  seed: number;
  positions: string;
  fuzz: number;
  vectors: Vector[];
  coefficients: Record<string, number>;
  max_coefficient: number;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
  results: Results;
  _shift: Payload | null;
}

const DEBOUNCE_MS = 250;

function tint(shift: number): string {
  const a = Math.min(1, Math.abs(shift) / 4) * 0.6;
  return shift >= 0 ? `rgba(40, 160, 60, ${a.toFixed(3)})` : `rgba(200, 40, 40, ${a.toFixed(3)})`;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);
    const setTrait = traits.set;

    const text = h("textarea", { class: "wb-text", attrs: { rows: 2, "aria-label": "user message", placeholder: "the user's message" } });
    const prefill = h("input", { class: "wb-prefill-input", attrs: { "aria-label": "prefill", placeholder: "optional prefill", size: 24 } });
    const resample = h("button", { class: "wb-resample", text: "Resample" });
    const newSeed = h("button", { class: "wb-new-seed", text: "New seed" });
    const root = h("div", { class: "wb-widget wb-steer-panel" });
    // sliding while a run goes replaces it: Resample stays enabled
    const run = runControls(m, root, request, { progress: "always", busy: (p) => `sampling… ${p.step}/${p.total} tokens` });
    const numbers: [keyof State, string, Record<string, number>][] = [
      ["n", "n", { min: 1, max: 64, step: 1 }],
      ["max_new_tokens", "max tokens", { min: 1, step: 1 }],
      ["temperature", "temperature", { min: 0, step: 0.1 }],
      ["fuzz", "fuzz", { min: 0, step: 0.05 }],
    ];
    const numberInputs = numbers.map(([name, label, attrs]) => {
      const input = h("input", { class: `wb-${String(name).replace(/_/g, "-")}`, attrs: { type: "number", "aria-label": label, ...attrs } });
      input.value = String(m.get(name));
      input.addEventListener("change", () => act(root, () => {
        const value = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(value)) throw new Error(`${label} must be a number, not ${JSON.stringify(input.value)}.`);
        setTrait(name, value as never);
      }));
      return { name, input, wrap: h("label", { text: label }, [input]) };
    });
    const positions = h("select", { class: "wb-positions", attrs: { "aria-label": "positions" } }, [
      h("option", { text: "all positions", attrs: { value: "all" } }),
      h("option", { text: "generated only", attrs: { value: "generated" } }),
    ]);
    positions.value = m.get("positions");
    positions.addEventListener("change", () => setTrait("positions", positions.value));
    const sliders = h("div", { class: "wb-sliders" });
    const unsteered = h("div", { class: "wb-side wb-unsteered" });
    const steered = h("div", { class: "wb-side wb-steered" });
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Steering" }), text]),
      h("div", { class: "wb-row" }, [prefill, ...numberInputs.map((x) => x.wrap), positions, resample, run.cancel, newSeed, run.progress, run.status]),
      sliders,
      h("div", { class: "wb-sides" }, [unsteered, steered]),
    );

    text.value = m.get("text");
    text.addEventListener("input", () => setTrait("text", text.value, 300));
    prefill.value = m.get("prefill");
    prefill.addEventListener("input", () => setTrait("prefill", prefill.value, 300));

    // -- sliders -------------------------------------------------------------------------
    const drawSliders = () => {
      const vectors = m.get("vectors") ?? [];
      const coefficients = m.get("coefficients") ?? {};
      const max = m.get("max_coefficient") || 4;
      if (!vectors.length) {
        sliders.replaceChildren(h("p", { class: "wb-muted", text: "No steering vectors yet: register one (workbench.techniques.steering) or press \"Steer with this\" in a linked activation panel." }));
        return;
      }
      sliders.replaceChildren(
        ...vectors.map((v) => {
          const value = coefficients[v.name] ?? 0;
          const range = h("input", { class: "wb-range", attrs: { type: "range", min: -max, max, step: max / 80, "aria-label": `coefficient of ${v.name}` } });
          range.value = String(value);
          const shown = h("span", { class: "wb-coef", text: value.toFixed(2) });
          const zero = h("button", { class: "wb-zero", text: "0", title: "reset to 0" });
          const commit = (delay: number) => {
            const next = { ...(m.get("coefficients") ?? {}), [v.name]: Number(range.value) };
            setTrait("coefficients", next, delay);
          };
          range.addEventListener("input", () => {
            shown.textContent = Number(range.value).toFixed(2);
            commit(DEBOUNCE_MS);
          });
          range.addEventListener("change", () => commit(DEBOUNCE_MS));
          zero.addEventListener("click", () => {
            range.value = "0";
            shown.textContent = "0.00";
            commit(0);
          });
          return h("div", { class: "wb-slider", attrs: { "data-name": v.name } }, [
            h("span", { text: v.name, title: `${v.source} · layer ${v.layer} · natural scale ${v.scale}` }),
            range,
            shown,
            zero,
          ]);
        }),
      );
    };
    const syncSliders = () => {
      // keep a slider the user is dragging; redraw when the set of vectors changed
      const names = (m.get("vectors") ?? []).map((v) => v.name).join("\u0000");
      if (sliders.dataset.names !== names) {
        sliders.dataset.names = names;
        drawSliders();
        return;
      }
      const coefficients = m.get("coefficients") ?? {};
      for (const row of Array.from(sliders.querySelectorAll<HTMLElement>(".wb-slider"))) {
        const range = row.querySelector<HTMLInputElement>(".wb-range");
        const shown = row.querySelector(".wb-coef");
        const value = coefficients[row.dataset.name ?? ""] ?? 0;
        if (range && document.activeElement !== range && !traits.pending("coefficients")) {
          range.value = String(value);
          if (shown) shown.textContent = value.toFixed(2);
        }
      }
    };

    // -- results ------------------------------------------------------------------------
    const drawResults = () => {
      const r = m.get("results") ?? {};
      const shiftPayload = m.get("_shift");
      const shifts = shiftPayload ? decode<Float32Array>(shiftPayload).data : new Float32Array(0);
      const steerText = Object.entries(r.steer ?? {}).map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${v}`).join(", ") || "no steering";
      const side = (title: string, samples: SideSample[] | undefined, tinted: boolean) => {
        let offset = 0;
        return [
          h("h4", { text: title }),
          ...(samples ?? []).map((s, i) => {
            const spans = s.tokens.map((token, j) => {
              const shift = tinted && offset + j < shifts.length ? shifts[offset + j] : 0;
              return h("span", {
                class: "wb-tok",
                text: token,
                title: tinted ? `log-probability change ${shift >= 0 ? "+" : ""}${shift.toFixed(2)}` : undefined,
                attrs: tinted ? { "data-shift": shift.toFixed(3) } : {},
                style: tinted ? { background: tint(shift) } : {},
              });
            });
            offset += s.tokens.length;
            return h("div", { class: "wb-sample", attrs: { "data-index": i } }, [
              r.prefill ? h("span", { class: "wb-prefill", text: r.prefill }) : null,
              ...spans,
              h("span", { class: "wb-muted", text: `  [${s.finish}]` }),
            ]);
          }),
        ];
      };
      if (!r.steered) {
        unsteered.replaceChildren(h("p", { class: "wb-muted", text: "Move a slider or press Resample." }));
        steered.replaceChildren();
        return;
      }
      unsteered.replaceChildren(...side(`Unsteered · seed ${r.seed}`, r.unsteered, false));
      steered.replaceChildren(...side(`Steered · ${steerText}`, r.steered, true));
    };

    const syncInputs = () => {
      for (const { name, input } of numberInputs) if (document.activeElement !== input) input.value = String(m.get(name));
      if (document.activeElement !== text) text.value = m.get("text");
      if (document.activeElement !== prefill) prefill.value = m.get("prefill");
      positions.value = m.get("positions");
    };

    const send = (method: string) => act(root, () => {
      traits.flush();
      return request(method);
    });
    resample.addEventListener("click", () => send("run"));
    newSeed.addEventListener("click", () => send("new_seed"));

    return mount(m, el, root, {
      on: {
        vectors: syncSliders,
        coefficients: syncSliders,
        max_coefficient: drawSliders,
        results: drawResults,
        _shift: drawResults,
        n: syncInputs,
        max_new_tokens: syncInputs,
        temperature: syncInputs,
        fuzz: syncInputs,
        text: syncInputs,
        prefill: syncInputs,
        positions: syncInputs,
      },
      draw: [syncSliders, drawResults],
      run,
      request,
      traits,
    });
  },
};

export default widget;
