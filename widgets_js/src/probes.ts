// The probe panel (workbench/widgets/probes.py): positive and negative examples one per
// line, layer and pooling, Train / Cancel with a progress bar, the held-out accuracy
// and AUROC of the chosen layer (the per-layer altair chart sits under the panel),
// "Register as vector", and a score box that tints each token by the probe's score.
// Example and model text is untrusted: it goes in with textContent only.
import { h, visibleToken } from "./lib/dom";
import { act, mount, runControls, sendButton } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface Result {
  name?: string;
  layer?: number;
  position?: string;
  accuracy?: number;
  auroc?: number;
  train_accuracy?: number;
  n?: number;
  n_test?: number;
  registered?: boolean;
}

interface Scores {
  tokens?: string[];
  scores?: number[];
  probe?: string;
  layer?: number;
}

interface State {
  positive: string;
  negative: string;
  layer: string;
  position: string;
  n_layers: number;
  name: string;
  result: Result;
  per_layer: Record<string, number | null>[];
  vector_name: string;
  registered: { name?: string; layer?: number; scale?: number; replaced?: boolean };
  text: string;
  scores: Scores;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
}

/** Blue for the negative set (score 0), red for the positive one (score 1). */
function tint(score: number): string {
  const a = Math.min(1, Math.abs(score - 0.5) * 2) * 0.55;
  return score >= 0.5 ? `rgba(210, 40, 40, ${a.toFixed(3)})` : `rgba(40, 90, 210, ${a.toFixed(3)})`;
}

function fmt(value: number | null | undefined, digits = 2): string {
  return value === null || value === undefined || Number.isNaN(value) ? "n/a" : value.toFixed(digits);
}

function count(text: string): number {
  return text.split(/\r?\n/).filter((line) => line.trim()).length;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);

    const side = (name: "positive" | "negative", hint: string) => {
      const box = h("textarea", { class: `wb-${name}`, attrs: { "aria-label": `${name} examples`, placeholder: hint, spellcheck: false } });
      const counter = h("span", { class: `wb-count-${name} wb-muted` });
      box.addEventListener("input", () => {
        counter.textContent = `${count(box.value)} examples`;
        traits.set(name, box.value, 300);
      });
      return { box, counter };
    };
    const positive = side("positive", "one example per line, e.g. You are a worthless fool.");
    const negative = side("negative", "one example per line, e.g. Thank you, that was kind of you.");
    const name = h("input", { class: "wb-name", attrs: { type: "text", placeholder: "probe name (optional)", "aria-label": "probe name" } });
    const layer = h("input", { class: "wb-layer", attrs: { type: "text", placeholder: "all or 3, 5", "aria-label": "layers" } });
    const position = h("select", { class: "wb-position", attrs: { "aria-label": "pooling" } }, [
      h("option", { text: "mean of the tokens", attrs: { value: "mean" } }),
      h("option", { text: "last token", attrs: { value: "last" } }),
    ]);
    const train = h("button", { class: "wb-train", text: "Train" });
    const root = h("div", { class: "wb-widget wb-probe-panel" });
    const run = runControls(m, root, request, { start: [train], progress: "running" });
    const result = h("div", { class: "wb-result" });
    const vectorName = h("input", { class: "wb-vector-name", attrs: { type: "text", placeholder: "vector name", "aria-label": "vector name" } });
    const register = h("button", { class: "wb-register", text: "Register as vector" });
    const registered = h("span", { class: "wb-registered wb-muted" });
    const text = h("input", { class: "wb-text", attrs: { type: "text", placeholder: "a text to score token by token", "aria-label": "text to score" } });
    const score = h("button", { class: "wb-score", text: "Score" });
    const toPanel = sendButton(root, { class: "wb-to-panel", text: "activations", title: "open the text in the activation panel" },
      () => request("to_panel", { text: text.value }));
    const scores = h("div", { class: "wb-scores" });
    const use = h("div", { class: "wb-use" }, [
      h("div", { class: "wb-row" }, [vectorName, register, registered]),
      h("div", { class: "wb-row" }, [text, score, toPanel]),
      scores,
    ]);

    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Linear probe" }), name]),
      h("div", { class: "wb-sets" }, [
        h("div", { class: "wb-set" }, [h("span", {}, [h("b", { text: "positive " }), positive.counter]), positive.box]),
        h("div", { class: "wb-set" }, [h("span", {}, [h("b", { text: "negative " }), negative.counter]), negative.box]),
      ]),
      h("div", { class: "wb-row" }, [h("label", { text: "layers " }, [layer]), h("label", { text: "pool " }, [position]), train, ...run.elements]),
      result,
      use,
    );

    train.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));
    name.addEventListener("input", () => traits.set("name", name.value, 300));
    layer.addEventListener("input", () => traits.set("layer", layer.value, 300));
    position.addEventListener("change", () => traits.set("position", position.value));
    vectorName.addEventListener("input", () => traits.set("vector_name", vectorName.value, 300));
    register.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("to_vector", { name: vectorName.value });
    }));
    const scoreText = () => act(root, () => request("score", { text: text.value }));
    score.addEventListener("click", scoreText);
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter") scoreText();
    });

    const drawInputs = () => {
      for (const [key, part] of [["positive", positive], ["negative", negative]] as const) {
        if (document.activeElement !== part.box && !traits.pending(key)) part.box.value = m.get(key);
        part.counter.textContent = `${count(part.box.value)} examples`;
      }
      if (document.activeElement !== name) name.value = m.get("name");
      if (document.activeElement !== layer) layer.value = m.get("layer");
      position.value = m.get("position");
      layer.title = `"all" or layer numbers in 0..${m.get("n_layers") - 1}, separated by commas`;
    };
    const drawResult = () => {
      const r = m.get("result");
      if (r.layer === undefined) {
        result.replaceChildren(h("span", { class: "wb-muted", text: "train a probe to see how well each layer separates the sets" }));
      } else {
        result.replaceChildren(
          `probe ${JSON.stringify(r.name)} · layer `, h("b", { class: "wb-best-layer", text: String(r.layer) }),
          " · held-out accuracy ", h("b", { class: "wb-accuracy", text: fmt(r.accuracy) }),
          " · AUROC ", h("b", { class: "wb-auroc", text: fmt(r.auroc) }),
          h("span", { class: "wb-muted", text: ` · train accuracy ${fmt(r.train_accuracy)} · ${r.n} texts, ${r.n_test} held out · ${r.position} pooling` }),
        );
      }
      const ready = r.layer !== undefined;
      register.disabled = !ready;
      score.disabled = !ready;
      use.style.opacity = ready ? "1" : "0.6";
    };
    const drawUse = () => {
      if (document.activeElement !== vectorName) vectorName.value = m.get("vector_name");
      if (document.activeElement !== text) text.value = m.get("text");
      const reg = m.get("registered");
      registered.textContent = reg.name === undefined ? ""
        : `registered ${JSON.stringify(reg.name)} in bench.vectors at layer ${reg.layer} (natural scale ${fmt(reg.scale, 3)})`;
      const s = m.get("scores");
      if (!s.tokens) {
        scores.replaceChildren();
        return;
      }
      scores.replaceChildren(
        h("div", { class: "wb-muted", text: `probe ${JSON.stringify(s.probe)} at layer ${s.layer}: red leans positive, blue negative (hover for the score)` }),
        ...s.tokens.map((token, i) => {
          const value = s.scores![i];
          return h("span", {
            class: "wb-tok",
            text: visibleToken(token),
            title: `${JSON.stringify(token)}: ${value.toFixed(3)}`,
            attrs: { "data-score": value.toFixed(4) },
            style: { background: tint(value) },
          });
        }),
      );
    };
    return mount(m, el, root, {
      on: {
        positive: drawInputs,
        negative: drawInputs,
        name: drawInputs,
        layer: drawInputs,
        position: drawInputs,
        result: drawResult,
        vector_name: drawUse,
        registered: drawUse,
        text: drawUse,
        scores: drawUse,
      },
      draw: [drawInputs, drawResult, drawUse],
      run,
      request,
      traits,
    });
  },
};

export default widget;
