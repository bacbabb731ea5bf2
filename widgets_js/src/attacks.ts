// The attack box (workbench/widgets/attacks.py): a system prompt, editable turns, the
// prefill, persona tabs, sampling settings, Run / Cancel with progress, and the
// results: prefill set apart from the continuation, near-duplicates grouped with
// counts, keyword / regex hits highlighted and counted per run. Model text goes in
// with textContent only (lib/dom.ts).
import { h } from "./lib/dom";
import { act, mount, runControls, sendButton } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface Turn {
  role: string;
  content: string;
}

interface SampleRow {
  text: string;
  n_tokens: number;
  logprob: number;
  finish: string;
}

interface Result {
  key: string;
  persona: string;
  prefill: string;
  prompt: string;
  seed: number | null;
  cancelled: boolean;
  samples: SampleRow[];
  groups: { count: number; members: number[] }[];
}

interface Counts {
  kind?: string;
  columns?: string[];
  n?: number[];
  rows?: { pattern: string; counts: number[] }[];
}

interface LibraryEntry {
  name: string;
  kind: string;
  text: string;
  origin: string;
}

interface State {
  system_prompt: string;
  compare_system: boolean;
  turns: Turn[];
  prefill: string;
  narrator_text: string;
  persona: string;
  custom_role: string;
  n: number;
  temperature: number;
  top_p: number;
  max_new_tokens: number;
  seed: number | null;
  keywords: string;
  regex: boolean;
  group: boolean;
  variable: string;
  running: boolean;
  progress: { step: number; total: number };
  status: string;
  error: string;
  results: Result[];
  matches: Record<string, [number, number, string][][]>;
  counts: Counts;
  library: LibraryEntry[];
}

type Model = AnyModel<State>;

const TABS: [string, string][] = [
  ["assistant", "Assistant"],
  ["user", "User"],
  ["narrator", "Narrator"],
  ["custom", "Custom role"],
  ["compare", "Compare all"],
];

/** The prefill and continuation of one sample, hits wrapped in <mark>, all as text nodes. */
function completionNodes(prefill: string, continuation: string, spans: [number, number, string][]): Node[] {
  const full = prefill + continuation;
  const cuts = new Set<number>([0, prefill.length, full.length]);
  for (const [a, b] of spans) {
    cuts.add(Math.max(0, Math.min(full.length, a)));
    cuts.add(Math.max(0, Math.min(full.length, b)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const head = h("span", { class: "wb-prefill", title: "prefill (written by you)" });
  const nodes: Node[] = prefill ? [head] : [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    if (a === b) continue;
    const piece = full.slice(a, b);
    const hit = spans.find(([s, e]) => s <= a && b <= e);
    const node: Node = hit ? h("mark", { class: "wb-hit", text: piece, title: hit[2] }) : document.createTextNode(piece);
    if (b <= prefill.length) head.appendChild(node);
    else nodes.push(node);
  }
  return nodes;
}

function numberInput(name: string, label: string, value: number | null, attrs: Record<string, string | number>) {
  const input = h("input", { class: `wb-${name}`, attrs: { type: "number", "aria-label": label, ...attrs } });
  input.value = value === null || value === undefined ? "" : String(value);
  return { input, wrap: h("label", { text: label }, [input]) };
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as Model;
    const request = createRequester(model, { timeoutMs: 600_000 });
    const traits = traitWriter(m);
    const setTrait = traits.set;

    // -- inputs ------------------------------------------------------------------------
    const library = h("select", { class: "wb-library", attrs: { "aria-label": "attack library" } });
    const saveName = h("input", { class: "wb-save-name", attrs: { placeholder: "name", "aria-label": "attack name", size: 12 } });
    const saveKind = h("select", { class: "wb-save-kind", attrs: { "aria-label": "attack kind" } }, [
      h("option", { text: "prefill", attrs: { value: "prefill" } }),
      h("option", { text: "system", attrs: { value: "system" } }),
      h("option", { text: "narrator", attrs: { value: "narrator" } }),
      h("option", { text: "persona", attrs: { value: "persona" } }),
    ]);
    const saveButton = h("button", { class: "wb-save", text: "Save to library" });

    const system = h("textarea", { class: "wb-system", attrs: { rows: 2, "aria-label": "system prompt", placeholder: "optional system prompt (e.g. one that tells the model to keep a secret)" } });
    const compareSystem = h("input", { class: "wb-compare-system", attrs: { type: "checkbox" } });
    const turnsBox = h("div", { class: "wb-turns" });
    const addTurn = h("button", { class: "wb-add-turn", text: "+ turn" });

    const tabButtons = TABS.map(([key, label]) => {
      const b = h("button", { class: "wb-tab", text: label, attrs: { "data-tab": key } });
      b.addEventListener("click", () => setTrait("persona", key));
      return b;
    });
    const role = h("input", { class: "wb-role", attrs: { placeholder: "role name, e.g. developer", "aria-label": "custom role", size: 16 } });
    const roleWrap = h("label", { text: "Role" }, [role]);
    const prefill = h("textarea", { class: "wb-prefill-input", attrs: { rows: 2, "aria-label": "assistant prefill", placeholder: "the first words of the reply, e.g. My secret goal is" } });
    const prefillWrap = h("div", { class: "wb-field" }, [h("span", { text: "Prefill: the reply starts with" }), prefill]);
    const narrator = h("textarea", { class: "wb-narrator-input", attrs: { rows: 2, "aria-label": "narrator text", placeholder: "optional text appended to the transcript, e.g. Narrator: what the assistant did not say was" } });
    const narratorWrap = h("div", { class: "wb-field" }, [h("span", { text: "Narrator text: appended to the raw transcript" }), narrator]);
    const tabNote = h("div", { class: "wb-note" });

    const n = numberInput("n", "n", m.get("n"), { min: 1, max: 256, step: 1 });
    const temperature = numberInput("temperature", "temperature", m.get("temperature"), { min: 0, step: 0.1 });
    const topP = numberInput("top-p", "top-p", m.get("top_p"), { min: 0.01, max: 1, step: 0.05 });
    const maxTokens = numberInput("max-tokens", "max tokens", m.get("max_new_tokens"), { min: 1, step: 1 });
    const seed = numberInput("seed", "seed", m.get("seed"), { min: 0, step: 1, placeholder: "random" });
    const runButton = h("button", { class: "wb-run", text: "Run" });
    const root = h("div", { class: "wb-widget wb-atk" });
    const run = runControls(m, root, request, { start: [runButton], progress: "always", busy: (p) => `running… ${p.step}/${p.total} tokens` });

    const keywords = h("textarea", { class: "wb-keywords", attrs: { rows: 2, "aria-label": "keywords", placeholder: "keywords or regexes, one per line" } });
    const regex = h("input", { class: "wb-regex", attrs: { type: "checkbox" } });
    const group = h("input", { class: "wb-group", attrs: { type: "checkbox" } });
    const variable = h("input", { class: "wb-variable", attrs: { "aria-label": "variable name", size: 10 } });
    const countsBox = h("div", { class: "wb-counts-box" });
    const results = h("div", { class: "wb-results" });

    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Attack box" }), library, h("span", { class: "wb-muted", text: "·" }), saveName, saveKind, saveButton]),
      h("div", { class: "wb-field" }, [
        h("span", { text: "System prompt" }),
        system,
        h("label", {}, [compareSystem, "run with and without the system prompt (same seed)"]),
      ]),
      h("div", { class: "wb-field" }, [h("span", { text: "Conversation" }), turnsBox, h("div", {}, [addTurn])]),
      h("div", { class: "wb-row wb-tabs", attrs: { role: "tablist" } }, [...tabButtons, roleWrap]),
      tabNote,
      prefillWrap,
      narratorWrap,
      h("div", { class: "wb-row" }, [n.wrap, temperature.wrap, topP.wrap, maxTokens.wrap, seed.wrap, runButton, ...run.elements]),
      h("div", { class: "wb-row" }, [
        h("div", { class: "wb-field", style: { flex: "1" } }, [h("span", { text: "Highlight and count" }), keywords]),
        h("label", {}, [regex, "regex"]),
        h("label", {}, [group, "group near-duplicates"]),
        h("label", { text: "variable" }, [variable]),
      ]),
      countsBox,
      results,
    );

    // -- conversation turns ----------------------------------------------------------
    const drawTurns = () => {
      const turns = m.get("turns") ?? [];
      turnsBox.replaceChildren(
        ...turns.map((turn, i) => {
          const roleIn = h("input", { class: "wb-turn-role", attrs: { "aria-label": `turn ${i + 1} role` } });
          roleIn.value = turn.role;
          const text = h("textarea", { class: "wb-turn-text", attrs: { rows: 2, "aria-label": `turn ${i + 1} text` } });
          text.value = turn.content;
          const remove = h("button", { class: "wb-del-turn", text: "✕", title: "delete this turn" });
          const update = (patch: Partial<Turn>, delay: number) => {
            const next = (m.get("turns") ?? []).map((t, j) => (j === i ? { ...t, ...patch } : t));
            setTrait("turns", next, delay);
          };
          roleIn.addEventListener("input", () => update({ role: roleIn.value.trim() }, 300));
          text.addEventListener("input", () => update({ content: text.value }, 300));
          remove.addEventListener("click", () => setTrait("turns", (m.get("turns") ?? []).filter((_, j) => j !== i)));
          return h("div", { class: "wb-turn", attrs: { "data-index": i } }, [roleIn, text, remove]);
        }),
      );
    };
    addTurn.addEventListener("click", () => {
      traits.flush();
      const turns = m.get("turns") ?? [];
      const last = turns.length ? turns[turns.length - 1].role : "assistant";
      setTrait("turns", [...turns, { role: last === "user" ? "assistant" : "user", content: "" }]);
    });

    // -- tabs ---------------------------------------------------------------------------
    const NOTES: Record<string, string> = {
      assistant: "The model continues the assistant's reply after your prefill.",
      user: "The model writes the next user turn: the user persona does not keep the assistant's secrets.",
      narrator: "The model continues the raw transcript as a narrator, across turns.",
      custom: "The model writes a turn for the role you name.",
      compare: "Assistant, user, narrator (and your custom role) on one shared seed, side by side.",
    };
    const drawTab = () => {
      const tab = m.get("persona");
      for (const b of tabButtons) b.classList.toggle("active", b.dataset.tab === tab);
      roleWrap.hidden = tab !== "custom" && tab !== "compare";
      prefillWrap.hidden = tab === "user" || tab === "narrator";
      narratorWrap.hidden = tab !== "narrator" && tab !== "compare";
      tabNote.textContent = NOTES[tab] ?? "";
    };

    // -- library --------------------------------------------------------------------------
    const drawLibrary = () => {
      const entries = m.get("library") ?? [];
      const byKind = new Map<string, LibraryEntry[]>();
      for (const e of entries) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e]);
      library.replaceChildren(
        h("option", { text: "attack library…", attrs: { value: "" } }),
        ...[...byKind].map(([kind, list]) =>
          h("optgroup", { attrs: { label: kind } }, list.map((e) => h("option", { text: `${e.name}${e.origin === "user" ? " (yours)" : ""}`, title: e.text, attrs: { value: `${e.kind}\u0000${e.name}` } }))),
        ),
      );
    };
    library.addEventListener("change", () => {
      const [kind, name] = library.value.split("\u0000");
      const entry = (m.get("library") ?? []).find((e) => e.kind === kind && e.name === name);
      library.value = "";
      if (!entry) return;
      if (kind === "prefill") {
        setTrait("prefill", entry.text);
        if (m.get("persona") === "user" || m.get("persona") === "narrator") setTrait("persona", "assistant");
      } else if (kind === "system") setTrait("system_prompt", entry.text);
      else if (kind === "narrator") {
        setTrait("narrator_text", entry.text);
        if (m.get("persona") !== "compare") setTrait("persona", "narrator");
      } else if (kind === "persona") {
        if (entry.text === "user" || entry.text === "narrator" || entry.text === "assistant") setTrait("persona", entry.text);
        else {
          setTrait("custom_role", entry.text);
          setTrait("persona", "custom");
        }
      }
    });
    saveButton.addEventListener("click", () => act(root, async () => {
      traits.flush();
      const kind = saveKind.value;
      const text = kind === "prefill" ? m.get("prefill") : kind === "system" ? m.get("system_prompt") : kind === "narrator" ? m.get("narrator_text") : m.get("custom_role");
      await request("save_attack", { name: saveName.value.trim(), kind, text });
      run.status.textContent = `saved ${saveName.value.trim()} to the library`;
    }));

    // -- settings -------------------------------------------------------------------------
    const bindText = (input: HTMLInputElement | HTMLTextAreaElement, name: "system_prompt" | "prefill" | "narrator_text" | "custom_role" | "keywords" | "variable") => {
      input.value = m.get(name) ?? "";
      input.addEventListener("input", () => setTrait(name, input.value, 300));
      const sync = () => {
        if (document.activeElement !== input) input.value = m.get(name) ?? "";
      };
      m.on(`change:${name}`, sync);
      return () => m.off(`change:${name}`, sync);
    };
    const bindCheck = (input: HTMLInputElement, name: "compare_system" | "regex" | "group") => {
      input.checked = m.get(name);
      input.addEventListener("change", () => setTrait(name, input.checked));
      const sync = () => {
        input.checked = m.get(name);
      };
      m.on(`change:${name}`, sync);
      return () => m.off(`change:${name}`, sync);
    };
    const bindNumber = (input: HTMLInputElement, name: "n" | "temperature" | "top_p" | "max_new_tokens" | "seed", integer: boolean) => {
      input.addEventListener("change", () => act(root, () => {
        const raw = input.value.trim();
        if (raw === "" && name === "seed") return setTrait("seed", null);
        const value = Number(raw);
        if (raw === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
          throw new Error(`${input.getAttribute("aria-label")} must be ${integer ? "a whole number" : "a number"}, not ${JSON.stringify(raw)}.`);
        }
        setTrait(name, value as never);
      }));
      const sync = () => {
        const v = m.get(name);
        input.value = v === null || v === undefined ? "" : String(v);
      };
      m.on(`change:${name}`, sync);
      return () => m.off(`change:${name}`, sync);
    };
    const unbind = [
      bindText(system, "system_prompt"),
      bindText(prefill, "prefill"),
      bindText(narrator, "narrator_text"),
      bindText(role, "custom_role"),
      bindText(keywords, "keywords"),
      bindText(variable, "variable"),
      bindCheck(compareSystem, "compare_system"),
      bindCheck(regex, "regex"),
      bindCheck(group, "group"),
      bindNumber(n.input, "n", true),
      bindNumber(temperature.input, "temperature", false),
      bindNumber(topP.input, "top_p", false),
      bindNumber(maxTokens.input, "max_new_tokens", true),
      bindNumber(seed.input, "seed", true),
    ];

    // -- run ---------------------------------------------------------------------------
    runButton.addEventListener("click", async () => {
      traits.flush();
      runButton.disabled = true; // until the kernel says it runs: no second click
      const started = await act(root, () => request("start"));
      if (!started) runButton.disabled = m.get("running");
    });

    // -- results -----------------------------------------------------------------------
    const sampleRow = (result: Result, index: number, count: number | null) => {
      const s = result.samples[index];
      const spans = m.get("matches")?.[result.key]?.[index] ?? [];
      const toPanel = sendButton(root, { class: "wb-to-panel", text: "activations", title: "show this sample in the activation panel" },
        () => request("to_panel", { key: result.key, index }));
      const toVar = sendButton(root, { class: "wb-to-var", text: "→ var", title: "assign this sample to the notebook variable named above" },
        () => {
          traits.flush();
          return request<{ name: string }>("to_variable", { key: result.key, index });
        },
        (reply) => `→ ${reply.name} ✓`);
      return h("div", { class: "wb-sample", attrs: { "data-run": result.key, "data-index": index } }, [
        count === null ? null : h("span", { class: "wb-count", text: `×${count}`, title: `${count} near-identical samples` }),
        h("span", { class: "wb-meta", text: `#${index}` }),
        h("div", { class: "wb-text" }, completionNodes(result.prefill, s.text, spans)),
        h("span", { class: "wb-meta", text: `${s.n_tokens} tok · ${s.finish}`, title: `log-probability ${s.logprob}` }),
        h("span", { class: "wb-actions" }, [toPanel, toVar]),
      ]);
    };
    const drawResults = () => {
      const grouped = m.get("group");
      results.replaceChildren(
        ...(m.get("results") ?? []).map((result) => {
          const rows = grouped
            ? result.groups.map((g) => sampleRow(result, g.members[0], g.count))
            : result.samples.map((_, i) => sampleRow(result, i, null));
          const title = `${result.key} · ${result.samples.length} samples` + (grouped ? ` in ${result.groups.length} groups` : "") + ` · seed ${result.seed ?? "remote"}` + (result.cancelled ? " · cancelled" : "");
          return h("div", { class: "wb-set", attrs: { "data-run": result.key } }, [
            h("div", { class: "wb-set-title", text: title }),
            h("details", {}, [h("summary", { text: "exact prompt" }), h("pre", { class: "wb-prompt", text: result.prompt })]),
            ...rows,
          ]);
        }),
      );
    };
    const drawCounts = () => {
      const c = m.get("counts") ?? {};
      if (!c.rows || !c.columns) {
        countsBox.replaceChildren();
        return;
      }
      const caption = c.kind === "keywords" ? "Samples containing each keyword (prefill excluded)" : "Most frequent words, samples containing each";
      countsBox.replaceChildren(
        h("table", { class: "wb-counts" }, [
          h("caption", { class: "wb-muted", text: caption }),
          h("tr", {}, [h("th", { text: c.kind === "keywords" ? "pattern" : "word" }), ...c.columns.map((col) => h("th", { text: col }))]),
          ...c.rows.map((row) =>
            h("tr", { class: "wb-count-row", attrs: { "data-pattern": row.pattern } }, [
              h("td", { text: row.pattern }),
              ...row.counts.map((k, i) => h("td", { text: `${k} / ${c.n?.[i] ?? "?"}` })),
            ]),
          ),
        ]),
      );
    };
    return mount(m, el, root, {
      on: {
        turns: drawTurns,
        persona: drawTab,
        library: drawLibrary,
        results: drawResults,
        matches: drawResults,
        group: drawResults,
        counts: drawCounts,
      },
      draw: [drawTurns, drawTab, drawLibrary, drawResults, drawCounts],
      run,
      request,
      traits,
      teardown: unbind,
    });
  },
};

export default widget;
