// The causal panel (workbench/widgets/causal.py): two modes. Attribution: a prompt and a
// target continuation; Run ranks the SAE's latents at each token by activation × gradient,
// shown as a table of tokens with their top latents; a click on a latent zeroes it there
// and shows the measured change beside the attribution's prediction. Patching: a clean and
// a corrupted prompt and a target token; Run patches every layer × position, with
// progress and Cancel; the effect arrives as a binary [layers, positions] array and is
// drawn as a heat map whose cells show the patched run's greedy text when clicked.
// Prompt and model text is untrusted: it goes in with textContent only.
import { decode, type Payload } from "./lib/buffers";
import { h, visibleToken } from "./lib/dom";
import { act, mount, runControls } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface AttributionResult {
  tokens?: string[];
  target?: string;
  logprob?: number;
  sae?: string;
  layer?: number;
  site?: string;
}

interface AttributionRow {
  position: number;
  latent: number;
  activation: number;
  attribution: number;
}

interface Ablation {
  position?: number;
  latent?: number;
  token?: string;
  attribution?: number | null;
  change?: number;
  logprob?: number;
}

interface PatchingResult {
  tokens?: string[];
  corrupted_tokens?: string[];
  layers?: number[];
  positions?: number[];
  target?: string;
  p_clean?: number;
  p_corrupted?: number;
  site?: string;
  best?: [number, number];
}

interface Cell {
  layer?: number;
  position?: number;
  text?: string;
  effect?: number;
  prob?: number;
  token?: string;
  corrupted_token?: string;
}

interface State {
  mode: string;
  prompt: string;
  target: string;
  sae: string;
  saes: string[];
  k: number;
  clean: string;
  corrupted: string;
  patch_target: string;
  site: string;
  attribution_result: AttributionResult;
  attribution_rows: AttributionRow[];
  ablation: Ablation;
  patching_result: PatchingResult;
  effect: Payload | null;
  cell: Cell;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
}

const SITES = ["resid_post", "attn_out", "mlp_out", "resid_mid", "mlp_in"];

/** Red where the value helps the target (or restores it), blue where it hurts. */
function tint(value: number, scale: number): string {
  const a = Math.min(1, Math.abs(value) / (scale || 1)) * 0.7;
  return value >= 0 ? `rgba(210, 40, 40, ${a.toFixed(3)})` : `rgba(40, 90, 210, ${a.toFixed(3)})`;
}

function signed(value: number, digits = 3): string {
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);
    const root = h("div", { class: "wb-widget wb-causal-panel" });

    // -- the mode switch
    const modeButtons = {
      attribution: h("button", { class: "wb-mode wb-mode-attribution", text: "Attribution" }),
      patching: h("button", { class: "wb-mode wb-mode-patching", text: "Patching" }),
    };
    for (const [name, button] of Object.entries(modeButtons)) {
      button.addEventListener("click", () => traits.set("mode", name));
    }

    // -- attribution's inputs
    const prompt = h("textarea", { class: "wb-prompt", attrs: { "aria-label": "prompt", placeholder: "a prompt, e.g. The capital of France is", spellcheck: false } });
    const target = h("input", { class: "wb-target", attrs: { type: "text", "aria-label": "target", placeholder: "target continuation, e.g. ' Paris'" } });
    const sae = h("select", { class: "wb-sae", attrs: { "aria-label": "SAE" } });
    const k = h("input", { class: "wb-k", attrs: { type: "number", min: 1, max: 50, "aria-label": "latents per token" } });
    const attributionInputs = h("div", { class: "wb-attribution-inputs" }, [
      prompt,
      h("div", { class: "wb-row" }, [h("label", { text: "target " }, [target]), h("label", { text: "SAE " }, [sae]), h("label", { text: "latents per token " }, [k])]),
    ]);
    prompt.addEventListener("input", () => traits.set("prompt", prompt.value, 300));
    target.addEventListener("input", () => traits.set("target", target.value, 300));
    sae.addEventListener("change", () => traits.set("sae", sae.value));
    k.addEventListener("input", () => {
      const value = Number.parseInt(k.value, 10);
      if (Number.isFinite(value) && value >= 1) traits.set("k", value, 300);
    });

    // -- patching's inputs
    const clean = h("input", { class: "wb-clean", attrs: { type: "text", "aria-label": "clean prompt", placeholder: "clean prompt, e.g. The capital of France is" } });
    const corrupted = h("input", { class: "wb-corrupted", attrs: { type: "text", "aria-label": "corrupted prompt", placeholder: "corrupted prompt, e.g. The capital of Italy is" } });
    const patchTarget = h("input", { class: "wb-patch-target", attrs: { type: "text", "aria-label": "target token", placeholder: "token (empty: the clean run's top)" } });
    const site = h("select", { class: "wb-site", attrs: { "aria-label": "site" } }, SITES.map((s) => h("option", { text: s, attrs: { value: s } })));
    const patchingInputs = h("div", { class: "wb-patching-inputs" }, [
      h("div", { class: "wb-row" }, [h("label", { text: "clean " }, [clean])]),
      h("div", { class: "wb-row" }, [h("label", { text: "corrupted " }, [corrupted])]),
      h("div", { class: "wb-row" }, [h("label", { text: "target " }, [patchTarget]), h("label", { text: "site " }, [site])]),
    ]);
    clean.addEventListener("input", () => traits.set("clean", clean.value, 300));
    corrupted.addEventListener("input", () => traits.set("corrupted", corrupted.value, 300));
    patchTarget.addEventListener("input", () => traits.set("patch_target", patchTarget.value, 300));
    site.addEventListener("change", () => traits.set("site", site.value));

    const go = h("button", { class: "wb-run", text: "Run" });
    const run = runControls(m, root, request, { start: [go], progress: "running" });
    go.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));

    const attributionView = h("div", { class: "wb-attribution-view" });
    const ablationView = h("div", { class: "wb-ablation" });
    const patchingView = h("div", { class: "wb-patching-view" });
    const cellView = h("div", { class: "wb-cell-text" });

    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Does it cause it?" }), modeButtons.attribution, modeButtons.patching]),
      attributionInputs,
      patchingInputs,
      h("div", { class: "wb-row" }, [go, ...run.elements]),
      h("div", { class: "wb-attribution-pane" }, [attributionView, ablationView]),
      h("div", { class: "wb-patching-pane" }, [patchingView, cellView]),
    );

    const drawMode = () => {
      const mode = m.get("mode");
      for (const [name, button] of Object.entries(modeButtons)) button.classList.toggle("wb-active", name === mode);
      attributionInputs.hidden = mode !== "attribution";
      patchingInputs.hidden = mode !== "patching";
      (root.querySelector(".wb-attribution-pane") as HTMLElement).hidden = mode !== "attribution";
      (root.querySelector(".wb-patching-pane") as HTMLElement).hidden = mode !== "patching";
    };

    const drawInputs = () => {
      if (document.activeElement !== prompt && !traits.pending("prompt")) prompt.value = m.get("prompt");
      if (document.activeElement !== target && !traits.pending("target")) target.value = m.get("target");
      if (document.activeElement !== clean && !traits.pending("clean")) clean.value = m.get("clean");
      if (document.activeElement !== corrupted && !traits.pending("corrupted")) corrupted.value = m.get("corrupted");
      if (document.activeElement !== patchTarget && !traits.pending("patch_target")) patchTarget.value = m.get("patch_target");
      if (document.activeElement !== k) k.value = String(m.get("k"));
      const names = m.get("saes");
      sae.replaceChildren(...(names.length ? names : [""]).map((n) => h("option", { text: n || "no SAE registered", attrs: { value: n } })));
      sae.value = m.get("sae");
      site.value = m.get("site");
    };

    const drawAttribution = () => {
      const r = m.get("attribution_result");
      const rows = m.get("attribution_rows");
      if (!r.tokens) {
        attributionView.replaceChildren(h("span", { class: "wb-muted", text: "Run to rank the SAE's latents at each token by their attribution to the target" }));
        return;
      }
      const scale = Math.max(1e-9, ...rows.map((row) => Math.abs(row.attribution)));
      const byToken = new Map<number, AttributionRow[]>();
      for (const row of rows) {
        if (!byToken.has(row.position)) byToken.set(row.position, []);
        byToken.get(row.position)!.push(row);
      }
      const table = h("table", { class: "wb-attribution-table" }, [
        h("thead", {}, [h("tr", {}, [h("th", { text: "#" }), h("th", { text: "token" }), h("th", { text: "top latents (attribution = activation × gradient; click to zero one)" })])]),
      ]);
      const body = h("tbody");
      r.tokens.forEach((token, position) => {
        const latents = byToken.get(position) ?? [];
        body.append(h("tr", { class: "wb-token-row", attrs: { "data-position": position } }, [
          h("td", { class: "wb-muted", text: String(position) }),
          h("td", { class: "wb-token", text: visibleToken(token), title: JSON.stringify(token) }),
          h("td", {}, latents.map((row) => {
            const chip = h("button", {
              class: "wb-latent",
              text: `${row.latent} ${signed(row.attribution)}`,
              title: `latent ${row.latent} at ${JSON.stringify(token)}: activation ${row.activation.toFixed(3)}, attribution ${signed(row.attribution, 4)}`,
              attrs: { "data-latent": row.latent, "data-position": position, "data-attribution": row.attribution.toFixed(6) },
              style: { background: tint(row.attribution, scale) },
            });
            chip.addEventListener("click", () => act(root, () => request("ablate_latent", { position, latent: row.latent })));
            return chip;
          })),
        ]));
      });
      table.append(body);
      attributionView.replaceChildren(
        h("div", { class: "wb-attribution-summary" }, [
          "target ", h("b", { class: "wb-target-shown", text: JSON.stringify(r.target ?? "") }),
          ` · log-prob ${(r.logprob ?? 0).toFixed(3)} · SAE ${JSON.stringify(r.sae ?? "")} at layer ${r.layer} (${r.site}) · red raises the target, blue lowers it`,
        ]),
        table,
      );
    };

    const drawAblation = () => {
      const a = m.get("ablation");
      if (a.latent === undefined) {
        ablationView.replaceChildren();
        return;
      }
      const predicted = a.attribution === null || a.attribution === undefined ? "n/a" : signed(-a.attribution);
      ablationView.replaceChildren(
        `zeroing latent ${a.latent} at token ${a.position} (`, h("span", { class: "wb-token", text: visibleToken(a.token ?? "") }),
        "): measured change ", h("b", { class: "wb-measured", text: signed(a.change ?? 0) }),
        " in the target's log-prob; the attribution predicted ", h("b", { class: "wb-predicted", text: predicted }),
      );
    };

    const drawPatching = () => {
      const r = m.get("patching_result");
      const payload = m.get("effect");
      if (!r.layers || !payload) {
        patchingView.replaceChildren(h("span", { class: "wb-muted", text: "Run to patch each layer and token from the clean run into the corrupted one" }));
        return;
      }
      const effect = decode<Float32Array>(payload);
      const [nLayers, nPositions] = effect.shape;
      const tokens = r.tokens ?? [];
      const corruptedTokens = r.corrupted_tokens ?? [];
      const positions = r.positions ?? [];
      const grid = h("div", { class: "wb-heatmap", style: { "grid-template-columns": `4em repeat(${nPositions}, minmax(2.6em, 1fr))` } });
      grid.append(h("div", { class: "wb-muted", text: "layer" }));
      for (const p of positions) {
        const differs = tokens[p] !== corruptedTokens[p];
        grid.append(h("div", {
          class: `wb-col-token${differs ? " wb-differs" : ""}`,
          text: visibleToken(tokens[p] ?? ""),
          title: differs ? `clean ${JSON.stringify(tokens[p])} / corrupted ${JSON.stringify(corruptedTokens[p])}` : JSON.stringify(tokens[p]),
        }));
      }
      for (let i = nLayers - 1; i >= 0; i--) {  // the last layer on top
        const layer = r.layers[i];
        grid.append(h("div", { class: "wb-muted wb-row-layer", text: String(layer) }));
        for (let j = 0; j < nPositions; j++) {
          const value = effect.data[i * nPositions + j];
          const position = positions[j];
          const cell = h("div", {
            class: "wb-cell",
            text: value.toFixed(2),
            title: `layer ${layer}, token ${position} (${JSON.stringify(tokens[position])}): restores ${value.toFixed(3)}; click for the patched text`,
            attrs: { "data-layer": layer, "data-position": position, "data-effect": value.toFixed(4), role: "button" },
            style: { background: tint(value, 1) },
          });
          cell.addEventListener("click", () => act(root, () => request("patched_text", { layer, position })));
          grid.append(cell);
        }
      }
      patchingView.replaceChildren(
        h("div", { class: "wb-patching-summary" }, [
          `p(${JSON.stringify(r.target ?? "")}) clean ${(r.p_clean ?? 0).toFixed(3)}, corrupted ${(r.p_corrupted ?? 0).toFixed(3)} · ${r.site} · most restored at layer `,
          h("b", { class: "wb-best", text: `${r.best?.[0]}, token ${r.best?.[1]}` }),
          " · 1 restores the clean answer, 0 changes nothing",
        ]),
        grid,
      );
    };

    const drawCell = () => {
      const c = m.get("cell");
      if (c.layer === undefined) {
        cellView.replaceChildren();
        return;
      }
      cellView.replaceChildren(
        h("div", { class: "wb-muted", text: `patched layer ${c.layer}, token ${c.position} (${JSON.stringify(c.corrupted_token)} → ${JSON.stringify(c.token)}): restores ${(c.effect ?? 0).toFixed(3)}, p ${(c.prob ?? 0).toFixed(4)}; the corrupted prompt then continues:` }),
        h("div", { class: "wb-patched-text", text: c.text ?? "" }),
      );
    };

    return mount(m, el, root, {
      on: {
        mode: drawMode,
        prompt: drawInputs,
        target: drawInputs,
        clean: drawInputs,
        corrupted: drawInputs,
        patch_target: drawInputs,
        sae: drawInputs,
        saes: drawInputs,
        k: drawInputs,
        site: drawInputs,
        attribution_result: drawAttribution,
        attribution_rows: drawAttribution,
        ablation: drawAblation,
        patching_result: drawPatching,
        effect: drawPatching,
        cell: drawCell,
      },
      draw: [drawMode, drawInputs, drawAttribution, drawAblation, drawPatching, drawCell],
      run,
      request,
      traits,
    });
  },
};

export default widget;
