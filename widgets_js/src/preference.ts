// The preference-audit panel (workbench/widgets/preference.py): Run / Cancel with a
// progress bar, the ranked hypotheses (effect size, q, firing rates, length artefact,
// promoted tokens, example pairs), Allow / Block marks, and the export with a live
// preview of how many pairs it touches. Dataset text and tokens are untrusted: they go
// in with textContent only.
import { append, h } from "./lib/dom";
import { act, mount, runControls, sendButton } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface Example {
  id: string;
  diff: number;
  chosen: string;
  rejected: string;
}

interface Hypothesis {
  rank: number;
  latent: number;
  direction: "chosen" | "rejected";
  mean_diff: number;
  effect_size: number;
  q: number;
  fire_chosen: number;
  fire_rejected: number;
  length_r: number | null;
  length_artefact: boolean;
  promotes: string[];
  hypothesis: string;
  examples: Example[];
}

interface Preview {
  pairs?: number;
  blocked?: number;
  allowed?: number;
  mode?: string;
  touched?: number;
  threshold?: number;
}

interface State {
  dataset_name: string;
  top: number;
  hypotheses: Hypothesis[];
  marks: Record<string, string>;
  selected: number;
  summary: Record<string, number | string | boolean>;
  export_mode: string;
  threshold: number;
  export_path: string;
  preview: Preview;
  exported: Record<string, number | string>;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
}

function fmt(value: number | null | undefined, digits = 2): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "n/a";
  return value.toFixed(digits);
}

function fmtQ(q: number): string {
  return q < 1e-3 ? q.toExponential(1) : q.toFixed(3);
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);

    const start = h("button", { class: "wb-run", text: "Run audit" });
    const root = h("div", { class: "wb-widget wb-pref" });
    const run = runControls(m, root, request, { start: [start], progress: "running" });
    const summary = h("div", { class: "wb-summary wb-muted" });
    const top = h("input", { class: "wb-top", attrs: { type: "number", min: 1, max: 500, step: 1, "aria-label": "hypotheses shown" } });
    const hideArtefacts = h("input", { class: "wb-hide-artefacts", attrs: { type: "checkbox" } });
    const onlySignificant = h("input", { class: "wb-only-significant", attrs: { type: "checkbox" } });
    const list = h("div", { class: "wb-hyps" });
    const mode = h("select", { class: "wb-mode", attrs: { "aria-label": "export rule" } }, [
      h("option", { text: "remove pairs driven by blocked latents", attrs: { value: "remove" } }),
      h("option", { text: "re-weight them", attrs: { value: "reweight" } }),
    ]);
    const threshold = h("input", { class: "wb-threshold", attrs: { type: "number", min: 0.05, step: 0.05, "aria-label": "threshold" } });
    const path = h("input", { class: "wb-path", attrs: { type: "text", "aria-label": "export path" } });
    const exportButton = h("button", { class: "wb-export-go", text: "Export" });
    const preview = h("div", { class: "wb-preview" });
    const exported = h("div", { class: "wb-exported wb-muted" });

    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Preference audit" }), h("span", { class: "wb-dataset wb-muted", text: m.get("dataset_name") })]),
      h("div", { class: "wb-row" }, [start, ...run.elements]),
      summary,
      h("div", { class: "wb-row" }, [
        h("label", { text: "show top " }, [top]),
        h("label", {}, [hideArtefacts, " hide length artefacts"]),
        h("label", {}, [onlySignificant, " only q < 0.05"]),
      ]),
      list,
      h("div", { class: "wb-export" }, [
        h("div", { class: "wb-row" }, [h("b", { text: "Export" }), mode, h("label", { text: "threshold " }, [threshold]), path, exportButton]),
        preview,
        exported,
      ]),
    );

    start.addEventListener("click", () => act(root, () => request("start")));
    exportButton.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("write_export");
    }));
    top.addEventListener("change", () => act(root, () => {
      const value = Number(top.value);
      if (!Number.isInteger(value) || value < 1 || value > 500) throw new Error(`top must be a whole number in 1..500, not ${JSON.stringify(top.value)}.`);
      traits.set("top", value);
    }));
    hideArtefacts.addEventListener("change", () => drawList());
    onlySignificant.addEventListener("change", () => drawList());
    mode.addEventListener("change", () => traits.set("export_mode", mode.value));
    // the preview follows the threshold while it is typed (debounced), not only on blur
    const setThreshold = (delayMs: number) => {
      if (threshold.value.trim() === "" && delayMs > 0) return; // still typing
      return act(root, () => {
        const value = Number(threshold.value);
        if (!(value > 0)) throw new Error(`threshold must be a positive number, not ${JSON.stringify(threshold.value)}.`);
        traits.set("threshold", value, delayMs);
      });
    };
    threshold.addEventListener("input", () => setThreshold(300));
    threshold.addEventListener("change", () => setThreshold(0));
    path.addEventListener("input", () => traits.set("export_path", path.value, 300));

    const maxEffect = () => Math.max(1e-9, ...m.get("hypotheses").map((r) => Math.abs(r.effect_size)));

    const row = (r: Hypothesis, scale: number) => {
      const markOf = m.get("marks")[String(r.latent)] ?? "";
      const allow = h("button", { class: "wb-allow" + (markOf === "allowed" ? " active" : ""), text: "allow", title: "the preference may rely on this" });
      const block = h("button", { class: "wb-block" + (markOf === "blocked" ? " active" : ""), text: "block", title: "a spurious signal: filter pairs driven by it" });
      allow.addEventListener("click", () => act(root, () => request("set_mark", { latent: r.latent, status: markOf === "allowed" ? null : "allowed" })));
      block.addEventListener("click", () => act(root, () => request("set_mark", { latent: r.latent, status: markOf === "blocked" ? null : "blocked" })));
      const width = (Math.abs(r.effect_size) / scale) * 50;
      const bar = h("span", { class: "wb-bar", title: `effect size ${fmt(r.effect_size)}` }, [
        h("span", {
          style: {
            left: r.effect_size >= 0 ? "50%" : `${50 - width}%`,
            width: `${width}%`,
            background: r.effect_size >= 0 ? "#1e88e5" : "#d81b60",
          },
        }),
      ]);
      const toggle = h("button", { class: "wb-toggle", text: `examples (${r.examples.length})` });
      const item = h("div", { class: "wb-hyp" + (markOf ? ` ${markOf}` : ""), attrs: { "data-latent": r.latent, "data-rank": r.rank } });
      toggle.addEventListener("click", () => item.classList.toggle("open"));
      const examples = h("div", { class: "wb-examples" },
        r.examples.map((ex, index) => {
          const side = (name: "chosen" | "rejected") => {
            const open = sendButton(root, { class: `wb-to-panel wb-ex-${name}`, text: "activations", title: `open the ${name} response in the activation panel` },
              () => request("to_panel", { latent: r.latent, index, side: name }));
            return h("div", { class: `wb-side wb-${name}` }, [h("b", { text: `${name}: ` }), ex[name], " ", open]);
          };
          return h("div", { class: "wb-example-wrap" }, [
            h("div", { class: "wb-stats", text: `pair ${ex.id} · difference ${fmt(ex.diff, 3)}` }),
            h("div", { class: "wb-example" }, [side("chosen"), side("rejected")]),
          ]);
        }),
      );
      append(item, [
        h("div", { class: "wb-head" }, [
          h("b", { text: `#${r.rank}` }),
          h("span", { class: "wb-latent", text: `latent ${r.latent}` }),
          h("span", { class: `wb-badge ${r.direction}`, text: `${r.direction} ↑` }),
          bar,
          h("span", { class: "wb-stats", text: `d ${fmt(r.effect_size)} · q ${fmtQ(r.q)} · fires ${fmt(r.fire_chosen * 100, 0)}% / ${fmt(r.fire_rejected * 100, 0)}% · length r ${fmt(r.length_r)}` }),
          r.length_artefact ? h("span", { class: "wb-badge artefact", text: "length artefact" }) : null,
          allow,
          block,
          toggle,
        ]),
        h("div", { class: "wb-hypothesis", text: r.hypothesis }),
        r.promotes.length ? h("div", { class: "wb-promotes", text: "promotes: " + r.promotes.map((t) => JSON.stringify(t)).join(" ") }) : null,
        examples,
      ]);
      return item;
    };

    const drawList = () => {
      const scale = maxEffect();
      const rows = m.get("hypotheses").filter(
        (r) => !(hideArtefacts.checked && r.length_artefact) && !(onlySignificant.checked && !(r.q < 0.05)),
      );
      const openLatents = new Set(
        Array.from(list.querySelectorAll<HTMLElement>(".wb-hyp.open")).map((e) => e.dataset.latent),
      );
      list.replaceChildren(...rows.map((r) => row(r, scale)));
      for (const item of list.querySelectorAll<HTMLElement>(".wb-hyp")) {
        if (openLatents.has(item.dataset.latent)) item.classList.add("open");
      }
      if (!rows.length) list.append(h("div", { class: "wb-muted", text: m.get("hypotheses").length ? "no hypothesis passes the filters" : "run the audit to list hypotheses" }));
      drawSelected(false);
    };
    const drawSelected = (scroll = true) => {
      const selected = m.get("selected");
      for (const item of list.querySelectorAll<HTMLElement>(".wb-hyp")) {
        const on = Number(item.dataset.latent) === selected;
        item.classList.toggle("selected", on);
        if (on && scroll) {
          item.classList.add("open");
          item.scrollIntoView({ block: "nearest" });
        }
      }
    };
    const drawSummary = () => {
      const s = m.get("summary");
      summary.textContent = Object.keys(s).length
        ? `${s.pairs} pairs · SAE ${s.sae} at layer ${s.layer} · ${s.latents_firing} latents fire · ${s.significant} with q < 0.05 · ${s.response_tokens} response tokens`
        : "";
    };
    const drawExportSettings = () => {
      mode.value = m.get("export_mode");
      if (document.activeElement !== threshold) threshold.value = String(m.get("threshold"));
      if (document.activeElement !== path) path.value = m.get("export_path");
      top.value = String(m.get("top"));
    };
    const drawPreview = () => {
      const p = m.get("preview");
      if (p.pairs === undefined) {
        preview.textContent = "";
        return;
      }
      const verb = p.mode === "remove" ? "removes" : "down-weights";
      preview.textContent = p.blocked
        ? `${p.blocked} blocked latent${p.blocked === 1 ? "" : "s"}: the export ${verb} ${p.touched} of ${p.pairs} pairs (threshold ${p.threshold})`
        : `no latent blocked: the export keeps all ${p.pairs} pairs as they are`;
    };
    const drawExported = () => {
      const e = m.get("exported");
      if (e.path === undefined) {
        exported.textContent = "";
        return;
      }
      const touched = e.removed !== undefined ? `${e.removed} removed` : `${e.downweighted} down-weighted`;
      exported.textContent = `wrote ${e.kept} of ${e.pairs} pairs (${touched}) to ${e.path}; blocked latents to ${e.blocked_path}`;
    };
    const drawExportButton = () => {
      exportButton.disabled = m.get("running") || !m.get("hypotheses").length;
    };

    return mount(m, el, root, {
      on: {
        hypotheses: [drawList, drawExportButton],
        marks: drawList,
        selected: () => drawSelected(true),
        summary: drawSummary,
        preview: drawPreview,
        exported: drawExported,
        export_mode: drawExportSettings,
        threshold: drawExportSettings,
        export_path: drawExportSettings,
        top: drawExportSettings,
        running: drawExportButton,
      },
      draw: [drawList, drawSummary, drawExportSettings, drawPreview, drawExported, drawExportButton],
      run,
      request,
      traits,
    });
  },
};

export default widget;
