// The data-search panel (workbench/widgets/search.py): a search box, a mode switch,
// results with their matches highlighted; "activations" opens a document in the
// activation panel. Dataset text is untrusted: it goes in with textContent only.
import { h } from "./lib/dom";
import { act, mount, runControls, sendButton } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface ResultRow {
  rank: number;
  id: string;
  row: number;
  score: number;
  count: number;
  text: string;
  spans: [number, number][];
  tokens: [string, number][];
}

interface State {
  query: string;
  mode: string;
  k: number;
  dataset_name: string;
  running: boolean;
  status: string;
  error: string;
  results: ResultRow[];
  summary: Record<string, number | string>;
}

const MODES: [string, string][] = [
  ["keyword", "Keyword"],
  ["regex", "Regex"],
  ["semantic", "Semantic"],
  ["feature", "SAE feature"],
];
const PLACEHOLDER: Record<string, string> = {
  keyword: "words to find, one per line",
  regex: "regular expressions, one per line",
  semantic: "describe what you are looking for",
  feature: "an SAE latent id, e.g. 1996",
};

function highlighted(text: string, spans: [number, number][]): Node[] {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const nodes: Node[] = [];
  let at = 0;
  for (const [a, b] of sorted) {
    const start = Math.max(at, Math.min(text.length, a));
    const end = Math.max(start, Math.min(text.length, b));
    if (start > at) nodes.push(document.createTextNode(text.slice(at, start)));
    if (end > start) nodes.push(h("mark", { class: "wb-hit", text: text.slice(start, end) }));
    at = Math.max(at, end);
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);

    const query = h("textarea", { class: "wb-query", attrs: { rows: 1, "aria-label": "search query" } });
    query.value = m.get("query");
    const modeButtons = MODES.map(([key, label]) => {
      const b = h("button", { class: "wb-mode", text: label, attrs: { "data-mode": key } });
      b.addEventListener("click", () => {
        traits.set("mode", key);
      });
      return b;
    });
    const k = h("input", { class: "wb-k", attrs: { type: "number", min: 1, step: 1, "aria-label": "results" } });
    k.value = String(m.get("k"));
    const go = h("button", { class: "wb-go", text: "Search" });
    const list = h("div", { class: "wb-results" });
    const root = h("div", { class: "wb-widget wb-search" });
    const run = runControls(m, root, request, { start: [go] });
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Data search" }), h("span", { class: "wb-dataset wb-muted", text: m.get("dataset_name") })]),
      h("div", { class: "wb-row wb-modes" }, [...modeButtons, h("label", { text: "results" }, [k])]),
      h("div", { class: "wb-row" }, [query, go, run.cancel]),
      run.status,
      list,
    );

    query.addEventListener("input", () => traits.set("query", query.value, 300));
    query.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        go.click();
      }
    });
    k.addEventListener("change", () => act(root, () => {
      const value = Number(k.value);
      if (!Number.isInteger(value) || value < 1) throw new Error(`results must be a whole number >= 1, not ${JSON.stringify(k.value)}.`);
      traits.set("k", value);
    }));
    go.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("run");
    }));

    const drawMode = () => {
      const mode = m.get("mode");
      for (const b of modeButtons) b.classList.toggle("active", b.dataset.mode === mode);
      query.placeholder = PLACEHOLDER[mode] ?? "";
    };
    const drawResults = () => {
      const rows = m.get("results") ?? [];
      list.replaceChildren(
        ...rows.map((r) => {
          const open = sendButton(root, { class: "wb-to-panel", text: "activations", title: "open this document in the activation panel" },
            () => request("to_panel", { rank: r.rank }));
          return h("div", { class: "wb-result", attrs: { "data-rank": r.rank, "data-id": r.id } }, [
            h("span", { class: "wb-meta", text: `#${r.rank} · ${r.id}`, title: `row ${r.row}` }),
            h("div", { class: "wb-doc" }, [
              ...highlighted(r.text, r.spans),
              r.tokens.length ? h("div", { class: "wb-tokens", text: "fires on: " + r.tokens.map(([t, v]) => `${JSON.stringify(t)} ${v}`).join(", ") }) : null,
            ]),
            h("span", { class: "wb-meta", text: `score ${r.score}` + (r.count ? ` · ${r.count} ${r.tokens.length ? "tokens" : "hits"}` : "") }),
            open,
          ]);
        }),
      );
    };
    const syncQuery = () => {
      if (document.activeElement !== query) query.value = m.get("query");
    };
    return mount(m, el, root, {
      on: { mode: drawMode, results: drawResults, query: syncQuery },
      draw: [drawMode, drawResults],
      run,
      request,
      traits,
    });
  },
};

export default widget;
