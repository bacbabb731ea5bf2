// The activation panel (workbench/widgets/activations.py): a token strip coloured by
// the selected feature (or by a registered probe's score), token and feature details
// fetched on demand, a logit-lens grid. Every piece of model text goes in with textContent (see lib/dom.ts).
import { decode, type Payload } from "./lib/buffers";
import { h, visibleToken } from "./lib/dom";
import { act, mount, sendButton } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import type { AnyWidget } from "./lib/types";

interface State {
  text: string;
  tokens: string[];
  sae: string;
  layer: number;
  n_layers: number;
  selected_token: number;
  selected_feature: number;
  steer_requests: number[];
  probes: string[];
  selected_probe: string;
  follow_agent: boolean;
  agent_focus: AgentFocus | Record<string, never>;
  error: string;
  _top_latents: Payload | null;
  _top_values: Payload | null;
}

// what an auditing agent read over MCP (ActivationPanel._on_agent_focus), when following it
interface AgentFocus {
  seq: number;
  actor: string;
  tool: string;
  latents: number[];
  conversation_id: string;
  sae: string;
  text_shown: boolean;
  selectable: boolean;
}

interface TokenDetail {
  index: number;
  token: string;
  features: { latent: number; activation: number; density?: number; promoted?: string[]; explanation?: string }[];
}

interface Example {
  activation: number;
  before: string;
  token: string;
  after: string;
}

interface Neighbour {
  latent: number;
  similarity: number;
  explanation: string;
}

interface FeatureDetail {
  latent: number;
  values: Payload;
  max: number;
  density?: number;
  promoted?: [string, number][];
  suppressed?: [string, number][];
  examples?: Example[];
  quantiles?: { quantiles: [number, number]; low: number; high: number; examples: Example[] }[];
  histogram?: { counts: Payload; edges: Payload };
  neighbours?: { decoder: Neighbour[]; coactivation: Neighbour[] };
  explanation?: { text: string; explainer: string; score: number | null; scorer: string | null; note: string };
  published?: string;
}

interface SpanDetail {
  start: number;
  stop: number;
  text: string;
  features: { latent: number; span: number; elsewhere: number; contrast: number; explanation: string }[];
}

// a corpus example: the firing token highlighted, its context as text nodes
function exampleLine(e: Example): HTMLElement {
  return h("div", { class: "wb-example" }, [
    h("span", { class: "wb-muted", text: `${e.activation.toFixed(2)}  ` }),
    e.before,
    h("span", { class: "hit", text: e.token }),
    e.after,
  ]);
}

// the latent's activations over the corpus: one bar per log-spaced bin, from the first to the last non-empty one
function histogramView(histogram: { counts: Payload; edges: Payload }): HTMLElement {
  const counts = decode<Int32Array>(histogram.counts).data;
  const edges = decode<Float32Array>(histogram.edges).data;
  let first = counts.findIndex((c) => c > 0);
  if (first < 0) return h("p", { class: "wb-muted wb-histogram", text: "Never fires on the corpus." });
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  first = Math.max(0, first);
  let peak = 0;
  let total = 0;
  for (let i = first; i <= last; i++) {
    peak = Math.max(peak, counts[i]);
    total += counts[i];
  }
  const bars = [];
  for (let i = first; i <= last; i++) {
    const height = peak > 0 ? Math.max(counts[i] > 0 ? 2 : 0, Math.round((counts[i] / peak) * 48)) : 0;
    bars.push(h("div", {
      class: "wb-hist-bar",
      title: `${edges[i].toPrecision(3)}–${edges[i + 1].toPrecision(3)}: ${counts[i]} tokens`,
      attrs: { "data-count": counts[i] },
      style: { height: `${height}px` },
    }));
  }
  return h("div", { class: "wb-histogram" }, [
    h("div", { class: "wb-hist-bars" }, bars),
    h("div", { class: "wb-hist-axis wb-muted", text: `${edges[first].toPrecision(2)} … ${edges[last + 1].toPrecision(2)} (log scale) · ${total} corpus tokens` }),
  ]);
}

// model-written and imported explanations are untrusted: text nodes only (h sets textContent)
function explanationLines(detail: FeatureDetail): HTMLElement[] {
  const lines: HTMLElement[] = [];
  const e = detail.explanation;
  if (e && e.text) {
    const score = e.score === null ? "unscored" : `detection ${e.score.toFixed(2)} (${e.scorer ?? ""})`;
    lines.push(h("p", { class: "wb-explanation", text: e.text }));
    lines.push(h("p", { class: "wb-muted", text: `${e.explainer} explanation · ${score}` + (e.note ? ` · ${e.note}` : "") }));
  } else if (e && e.note) {
    lines.push(h("p", { class: "wb-muted", text: e.note }));
  }
  if (detail.published) {
    lines.push(h("p", { class: "wb-explanation wb-published", text: `Published: ${detail.published}` }));
  }
  return lines;
}

interface ProbeDetail {
  name: string;
  layer?: number;
  values?: Payload;
  accuracy?: number;
}

interface LensGrid {
  layers: number[];
  ids: Payload;
  probs: Payload;
  strings: Record<string, string>;
}

// a probe score in [0, 1]: orange above 0.5 (the positive set), blue below
function probeColour(score: number): string {
  const a = Math.min(1, Math.abs(score - 0.5) * 2) * 0.85;
  return score >= 0.5 ? `rgba(230, 120, 20, ${a.toFixed(3)})` : `rgba(52, 101, 164, ${a.toFixed(3)})`;
}

function colour(value: number, max: number): string {
  const a = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  return `rgba(230, 120, 20, ${(a * 0.85).toFixed(3)})`;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const request = createRequester(model, { timeoutMs: 600_000 });
    const input = h("textarea", { class: "wb-input", attrs: { rows: 2, "aria-label": "text to run" } });
    input.value = model.get("text");
    const runButton = h("button", { class: "wb-run", text: "Run" });
    const status = h("span", { class: "wb-status wb-muted" });
    const tabFeatures = h("button", { class: "wb-tab-features active", text: "Features" });
    const tabLens = h("button", { class: "wb-tab-lens", text: "Logit lens" });
    const probeSelect = h("select", { class: "wb-probe", attrs: { "aria-label": "colour by probe" } });
    const follow = h("input", { class: "wb-follow-agent", attrs: { type: "checkbox", "aria-label": "follow the agent" } });
    const followLabel = h("label", { class: "wb-follow", title: "show what an auditing agent reads over MCP (bench.serve()) as it reads it" }, [follow, " follow agent"]);
    const focusRow = h("div", { class: "wb-bar wb-agent-focus", attrs: { hidden: true } });
    const strip = h("div", { class: "wb-strip", attrs: { role: "list" } });
    const tokenPane = h("div", { class: "wb-col wb-token-detail" });
    const featurePane = h("div", { class: "wb-col wb-feature-detail" });
    const featuresView = h("div", { class: "wb-features-view" }, [strip, h("div", { class: "wb-cols" }, [tokenPane, featurePane])]);
    const lensView = h("div", { class: "wb-lens", attrs: { hidden: true } });
    const root = h("div", { class: "wb-widget wb-act" }, [
      h("div", { class: "wb-bar" }, [input, runButton]),
      h("div", { class: "wb-bar wb-tabs" }, [tabFeatures, tabLens, probeSelect, followLabel, status]),
      focusRow,
      featuresView,
      lensView,
    ]);

    let featureValues: Float32Array | null = null;
    let featureMax = 0;
    let probeValues: Float32Array | null = null;
    let probeName = ""; // the probe whose scores are in probeValues (or being fetched)
    let span: [number, number] | null = null; // the selected span of tokens [start, stop)
    let dragFrom = -1; // the token a drag over the strip started on

    const setStatus = (text: string) => {
      status.textContent = text;
    };
    // fill `pane` with what `fetch` builds, "loading…" meanwhile; empty it if that fails
    const load = (pane: HTMLElement, loading: string, fetch: () => Promise<Node[]>) => act(root, async () => {
      pane.replaceChildren(h("span", { class: "wb-muted", text: loading }));
      try {
        pane.replaceChildren(...(await fetch()));
      } catch (err) {
        pane.replaceChildren();
        throw err;
      }
    });

    const drawStrip = () => {
      const tokens = model.get("tokens");
      const selected = model.get("selected_token");
      strip.replaceChildren(
        ...tokens.map((token, i) => {
          const value = featureValues && i < featureValues.length ? featureValues[i] : 0;
          const score = probeValues && i < probeValues.length ? probeValues[i] : null;
          const title = score !== null
            ? `${token} | probe ${probeName}: ${score.toFixed(3)}`
            : featureValues ? `${token} | feature ${model.get("selected_feature")}: ${value.toFixed(3)}` : token;
          const background = score !== null ? probeColour(score) : featureValues ? colour(value, featureMax) : "transparent";
          const inSpan = span !== null && i >= span[0] && i < span[1];
          const el = h("span", {
            class: "wb-tok" + (i === selected ? " selected" : "") + (inSpan ? " in-span" : ""),
            text: visibleToken(token),
            title,
            attrs: { "data-index": i, role: "listitem", ...(score !== null ? { "data-score": score.toFixed(4) } : {}) },
            style: { background },
          });
          el.addEventListener("click", (event) => {
            const anchor = model.get("selected_token");
            if (event.shiftKey && anchor >= 0) void selectSpan(anchor, i);
            else void selectToken(i);
          });
          el.addEventListener("mousedown", () => {
            dragFrom = i;
          });
          el.addEventListener("mouseup", () => {
            if (dragFrom >= 0 && dragFrom !== i) void selectSpan(dragFrom, i);
            dragFrom = -1;
          });
          return el;
        }),
      );
      const sae = model.get("sae");
      const base = sae ? `SAE ${sae} at layer ${model.get("layer")}` : "no SAE registered";
      setStatus(`${tokens.length} tokens · ${base}` + (probeValues ? ` · coloured by probe ${probeName}` : ""));
    };

    const selectToken = (index: number) => load(tokenPane, "loading…", async () => {
      span = null;
      const detail = await request<TokenDetail>("token", { index });
      drawStrip();
      const rows = detail.features.map((f) => {
        const row = h("tr", { class: "wb-feature-row", attrs: { "data-latent": f.latent } }, [
          h("td", { text: String(f.latent) }),
          h("td", { text: f.activation.toFixed(3) }),
          h("td", { text: f.density === undefined ? "" : `${(f.density * 100).toFixed(2)}%` }),
          h("td", { text: (f.promoted ?? []).map(visibleToken).join(" ") }),
          h("td", { class: "wb-explanation-cell", text: f.explanation ?? "" }),
        ]);
        row.addEventListener("click", () => selectFeature(f.latent));
        return row;
      });
      return [
        h("h4", { text: "Token " }, [h("code", { class: "wb-token-name", text: visibleToken(detail.token) })]),
        rows.length
          ? h("table", {}, [
              h("tr", {}, [h("th", { text: "feature" }), h("th", { text: "act" }), h("th", { text: "density" }), h("th", { text: "promotes" }), h("th", { text: "explanation" })]),
              ...rows,
            ])
          : h("p", { class: "wb-muted", text: "No features fire on this token." }),
      ];
    });

    const selectFeature = (latent: number) => load(featurePane, "loading…", async () => {
      const detail = await request<FeatureDetail>("feature", { latent });
      featureValues = decode<Float32Array>(detail.values).data;
      featureMax = detail.max;
      if (probeName) {
        // a chosen feature takes the colouring back from the probe
        probeName = "";
        probeValues = null;
        probeSelect.value = "";
        void act(root, () => request("probe", { name: "" }));
      }
      drawStrip();
      const steer = sendButton(root, { class: "wb-steer", text: "Steer with this" }, () => request("steer", { latent }), () => "Sent to steering ✓");
      const examples = (detail.examples ?? []).map(exampleLine);
      const quantiles = (detail.quantiles ?? []).map((b) =>
        h("div", { class: "wb-quantile", attrs: { "data-low": b.low, "data-high": b.high } }, [
          h("div", { class: "wb-muted wb-quantile-title", text: `quantiles ${Math.round(b.quantiles[0] * 100)}–${Math.round(b.quantiles[1] * 100)}% · activation ${b.low.toFixed(2)}–${b.high.toFixed(2)}` }),
          ...b.examples.map(exampleLine),
        ]),
      );
      const tokenList = (tokens: [string, number][] | undefined) => (tokens ?? []).map(([t]) => visibleToken(t)).join(" ");
      return [
        h("h4", { class: "wb-feature-title", text: `Feature ${detail.latent}` }),
        h("p", {
          class: "wb-muted",
          text: `max here ${detail.max.toFixed(3)}` + (detail.density === undefined ? "" : ` · fires on ${(detail.density * 100).toFixed(2)}% of corpus tokens`),
        }),
        h("p", { class: "wb-promoted", text: "Promotes: " + tokenList(detail.promoted) }),
        ...(detail.suppressed ? [h("p", { class: "wb-suppressed", text: "Suppresses: " + tokenList(detail.suppressed) })] : []),
        ...explanationLines(detail),
        steer,
        ...(detail.histogram ? [h("h5", { text: "Activations over the corpus" }), histogramView(detail.histogram)] : []),
        h("h5", { text: "Top corpus examples" }),
        ...(examples.length ? examples : [h("p", { class: "wb-muted", text: "No corpus statistics for this SAE." })]),
        ...(quantiles.length ? [h("h5", { text: "Examples by activation quantile" }), ...quantiles] : []),
        ...(detail.neighbours ? [neighbourTable("decoder", "Neighbours by decoder direction", "cosine", detail.neighbours.decoder),
                                 neighbourTable("coactivation", "Neighbours by co-activation", "Jaccard", detail.neighbours.coactivation)] : []),
      ];
    });

    const neighbourTable = (by: string, title: string, measure: string, rows: Neighbour[]) => {
      const body = rows.map((n) => {
        const row = h("tr", { class: "wb-neighbour-row", attrs: { "data-latent": n.latent } }, [
          h("td", { text: String(n.latent) }),
          h("td", { text: n.similarity.toFixed(3) }),
          h("td", { class: "wb-explanation-cell", text: n.explanation }),
        ]);
        row.addEventListener("click", () => selectFeature(n.latent));
        return row;
      });
      return h("div", { class: "wb-neighbours", attrs: { "data-by": by } }, [
        h("h5", { text: title }),
        body.length
          ? h("table", {}, [h("tr", {}, [h("th", { text: "feature" }), h("th", { text: measure }), h("th", { text: "explanation" })]), ...body])
          : h("p", { class: "wb-muted", text: "None found." }),
      ]);
    };

    // a span of tokens (shift-click after a click, or a drag over the strip): the features that fire on it
    const selectSpan = (a: number, b: number) => {
      const start = Math.min(a, b);
      const stop = Math.max(a, b) + 1;
      span = [start, stop];
      drawStrip();
      return load(tokenPane, "finding the features of the span…", async () => {
        const detail = await request<SpanDetail>("span", { start, stop });
        const rows = detail.features.map((f) => {
          const row = h("tr", { class: "wb-span-row", attrs: { "data-latent": f.latent } }, [
            h("td", { text: String(f.latent) }),
            h("td", { text: f.span.toFixed(3) }),
            h("td", { text: f.elsewhere.toFixed(3) }),
            h("td", { class: "wb-explanation-cell", text: f.explanation }),
          ]);
          row.addEventListener("click", () => selectFeature(f.latent));
          return row;
        });
        return [
          h("h4", { class: "wb-span-title", text: `Tokens ${detail.start}–${detail.stop - 1} ` }, [h("code", { class: "wb-span-text", text: visibleToken(detail.text) })]),
          rows.length
            ? h("table", {}, [
                h("tr", {}, [h("th", { text: "feature" }), h("th", { text: "on span" }), h("th", { text: "elsewhere" }), h("th", { text: "explanation" })]),
                ...rows,
              ])
            : h("p", { class: "wb-muted", text: "No feature fires on this span more than elsewhere." }),
        ];
      });
    };

    const drawProbeMenu = () => {
      const names = model.get("probes");
      const chosen = model.get("selected_probe");
      probeSelect.replaceChildren(
        h("option", { text: "colour by feature", attrs: { value: "" } }),
        ...names.map((name) => h("option", { text: `probe: ${name}`, attrs: { value: name } })),
      );
      probeSelect.value = names.includes(chosen) ? chosen : "";
      probeSelect.hidden = names.length === 0;
    };

    const loadProbe = async (name: string) => {
      probeName = name;
      if (!name) {
        probeValues = null;
        drawStrip();
        return;
      }
      const loaded = await act(root, async () => {
        const detail = await request<ProbeDetail>("probe", { name });
        if (probeName !== name) return; // another choice came in meanwhile
        probeValues = detail.values ? decode<Float32Array>(detail.values).data : null;
        drawStrip();
      });
      if (!loaded) {
        probeValues = null;
        probeName = "";
        probeSelect.value = "";
        drawStrip();
      }
    };
    probeSelect.addEventListener("change", () => void loadProbe(probeSelect.value));
    const onProbeChosen = () => {
      drawProbeMenu();
      const chosen = model.get("selected_probe");
      if (chosen !== probeName) void loadProbe(chosen);
    };
    const onProbesListed = () => {
      drawProbeMenu();
      if (probeName) void loadProbe(probeName); // a probe re-registered under the same name scores anew
    };

    const drawLens = () => load(lensView, "computing the logit lens…", async () => {
      const grid = await request<LensGrid>("lens");
      const ids = decode<Int32Array>(grid.ids);
      const probs = decode<Float32Array>(grid.probs);
      const [nLayers, nPos] = ids.shape;
      const tokens = model.get("tokens");
      const header = h("tr", {}, [h("th", { text: "layer" }), ...tokens.map((t) => h("th", { text: visibleToken(t) }))]);
      const rows = [];
      for (let l = nLayers - 1; l >= 0; l--) {
        const cells = [h("td", { text: String(grid.layers[l]) })];
        for (let p = 0; p < nPos; p++) {
          const id = ids.data[l * nPos + p];
          const prob = probs.data[l * nPos + p];
          const text = grid.strings[String(id)] ?? String(id);
          cells.push(h("td", { text: visibleToken(text), title: `${text} (${(prob * 100).toFixed(1)}%)`, style: { background: `rgba(52, 101, 164, ${(prob * 0.6).toFixed(3)})` } }));
        }
        rows.push(h("tr", { class: "wb-lens-row" }, cells));
      }
      return [h("table", { class: "wb-lens-table" }, [header, ...rows])];
    });

    const showTab = (lens: boolean) => {
      tabFeatures.classList.toggle("active", !lens);
      tabLens.classList.toggle("active", lens);
      featuresView.hidden = lens;
      lensView.hidden = !lens;
      if (lens) void drawLens();
    };
    tabFeatures.addEventListener("click", () => showTab(false));
    tabLens.addEventListener("click", () => showTab(true));

    runButton.addEventListener("click", async () => {
      setStatus("running…");
      if (!(await act(root, () => request("run", { text: input.value })))) setStatus("");
    });

    const onNewText = () => {
      span = null;
      featureValues = null;
      featureMax = 0;
      input.value = model.get("text");
      tokenPane.replaceChildren();
      featurePane.replaceChildren();
      probeValues = null;
      drawStrip();
      if (probeName) void loadProbe(probeName); // the new text scored by the same probe
      if (!lensView.hidden) void drawLens();
    };
    follow.addEventListener("change", () => {
      model.set("follow_agent", follow.checked);
      model.save_changes();
    });
    const drawFollow = () => {
      follow.checked = model.get("follow_agent");
      focusRow.hidden = !follow.checked || !("seq" in model.get("agent_focus"));
    };
    let focusSeen = 0;
    const onAgentFocus = () => {
      drawFollow();
      const focus = model.get("agent_focus");
      if (!("seq" in focus) || focus.seq === focusSeen) return;
      focusSeen = focus.seq;
      const chips = focus.latents.map((latent) => {
        const chip = h("button", { class: "wb-chip wb-agent-latent", text: `#${latent}`, attrs: { "data-latent": latent } });
        chip.disabled = !focus.selectable;
        chip.addEventListener("click", () => void selectFeature(latent));
        return chip;
      });
      const where = focus.conversation_id ? ` on ${focus.conversation_id}` : "";
      focusRow.replaceChildren(
        h("span", { class: "wb-agent-focus-line", text: `${focus.actor || "agent"} · ${focus.tool}${where}` + (focus.sae ? ` · SAE ${focus.sae}:` : ":") }),
        ...chips,
      );
      // after every trait of this update (the new text's tokens first), colour by the agent's first feature
      if (focus.selectable && focus.latents.length) setTimeout(() => void selectFeature(focus.latents[0]), 0);
    };
    if (model.get("selected_probe")) void loadProbe(model.get("selected_probe"));
    return mount(model, el, root, {
      on: { tokens: onNewText, _top_values: drawStrip, selected_probe: onProbeChosen, probes: onProbesListed,
            follow_agent: drawFollow, agent_focus: onAgentFocus },
      draw: [drawProbeMenu, drawStrip, onAgentFocus],
      request,
    });
  },
};

export default widget;
