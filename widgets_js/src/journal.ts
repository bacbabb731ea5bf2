// The journal panel (workbench/widgets/journal.py): the session's technique calls newest
// first, live; filters by technique, tag and actor (the person, or an agent over MCP); select an entry to note it, tag it or mark
// it as a finding (a note with nothing selected is about the investigation). Summaries,
// notes and tags are untrusted text: they go in with textContent only.
import { h } from "./lib/dom";
import { act, mount } from "./lib/panel";
import { createRequester } from "./lib/rpc";
import { traitWriter } from "./lib/traits";
import type { AnyModel, AnyWidget } from "./lib/types";

interface NoteRow {
  id: string;
  time: string;
  text: string;
  tags: string[];
  kind: string;
  actor: string;
}

interface EntryRow {
  id: string;
  index: number;
  time: string;
  date: string;
  technique: string;
  duration_s: number;
  summary: string;
  error: boolean;
  seed: number | null;
  tags: string[];
  notes: NoteRow[];
  findings: NoteRow[];
  replay_of: string;
  actor: string;
  remote: string;
  remote_detail: string;
}

interface AgentState {
  servers?: number;
  urls?: string[];
  paused?: boolean;
  calls_used?: number;
  calls_left?: (number | null)[];
  sampled_tokens_used?: number;
  max_calls?: (number | null)[];
  max_sampled_tokens?: (number | null)[];
}

interface State {
  path: string;
  rows: EntryRow[];
  total: number;
  matching: number;
  techniques: string[];
  tags: string[];
  technique: string;
  tag: string;
  actors: string[];
  actor: string;
  agent: AgentState;
  notes: NoteRow[];
  selected: string;
  max_rows: number;
  error: string;
}

function chips(tags: string[]): HTMLElement[] {
  return tags.map((t) => h("span", { class: "wb-chip wb-tag", text: t }));
}

function noteLine(note: NoteRow): HTMLElement {
  const finding = note.kind === "finding";
  return h("div", { class: finding ? "wb-finding" : "wb-note" }, [
    h("span", { text: `${finding ? "★ finding" : "note"} ${note.time}${note.actor ? ` (${note.actor})` : ""}: ` }),
    h("span", { class: "wb-note-text", text: note.text }),
    " ",
    ...chips(note.tags),
  ]);
}

function fillSelect(select: HTMLSelectElement, values: string[], current: string, allLabel: string): void {
  const options = ["", ...values];
  if (current && !values.includes(current)) options.push(current);
  select.replaceChildren(...options.map((v) => h("option", { text: v || allLabel, attrs: { value: v } })));
  select.value = current;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const m = model as AnyModel<State>;
    const request = createRequester(model, { timeoutMs: 60_000 });
    const traits = traitWriter(m);

    const techniqueSelect = h("select", { class: "wb-filter-technique", attrs: { "aria-label": "filter by technique" } });
    const tagSelect = h("select", { class: "wb-filter-tag", attrs: { "aria-label": "filter by tag" } });
    const actorSelect = h("select", { class: "wb-filter-actor", attrs: { "aria-label": "filter by actor" } });
    const count = h("span", { class: "wb-count wb-muted" });
    const list = h("div", { class: "wb-list", attrs: { role: "list" } });
    const freeNotes = h("div", { class: "wb-free-notes" });
    const target = h("span", { class: "wb-target wb-muted" });
    const noteText = h("textarea", { class: "wb-note-input", attrs: { rows: 1, placeholder: "a note, or the finding in words", "aria-label": "note" } });
    const noteTags = h("input", { class: "wb-note-tags", attrs: { type: "text", placeholder: "tags, comma separated", "aria-label": "tags" } });
    const addNote = h("button", { class: "wb-add-note", text: "Add note" });
    const addTag = h("button", { class: "wb-add-tag", text: "Tag", title: "add the tags to the selected entry" });
    const markFinding = h("button", { class: "wb-mark-finding", text: "★ Mark finding", title: "the note's text as a finding on the selected entry" });
    const path = h("span", { class: "wb-path wb-muted" });
    const agentLine = h("span", { class: "wb-agent-state" });
    const agentPause = h("button", { class: "wb-agent-pause", text: "Pause agent", title: "hold the agent's calls until resumed" });
    const agentResume = h("button", { class: "wb-agent-resume", text: "Resume" });
    const agentStop = h("button", { class: "wb-agent-stop", text: "Stop agent", title: "refuse every further call and shut the server down" });
    const agentCalls = h("input", { class: "wb-agent-calls", attrs: { type: "number", min: 0, placeholder: "no cap", "aria-label": "tool calls the agent may make" } });
    const agentTokens = h("input", { class: "wb-agent-tokens", attrs: { type: "number", min: 0, placeholder: "no cap", "aria-label": "tokens the agent may sample" } });
    const agentBudget = h("button", { class: "wb-agent-budget", text: "Set budget", title: "raise or lower the agent's budget (blank: no cap)" });
    const agentRow = h("div", { class: "wb-row wb-agent" }, [
      agentLine, agentPause, agentResume, agentStop,
      h("label", { text: "calls " }, [agentCalls]), h("label", { text: "tokens " }, [agentTokens]), agentBudget,
    ]);
    const root = h("div", { class: "wb-widget wb-journal" }, [
      h("div", { class: "wb-row" }, [h("b", { text: "Journal" }), path]),
      agentRow,
      h("div", { class: "wb-row" }, [
        h("label", { text: "technique " }, [techniqueSelect]),
        h("label", { text: "tag " }, [tagSelect]),
        h("label", { text: "who " }, [actorSelect]),
        count,
      ]),
      list,
      freeNotes,
      target,
      h("div", { class: "wb-row" }, [noteText, noteTags, addNote, addTag, markFinding]),
    ]);

    techniqueSelect.addEventListener("change", () => traits.set("technique", techniqueSelect.value));
    tagSelect.addEventListener("change", () => traits.set("tag", tagSelect.value));
    actorSelect.addEventListener("change", () => traits.set("actor", actorSelect.value));

    agentBudget.addEventListener("click", async () => {
      agentBudget.disabled = true;
      await act(root, () => request("agent_budget", { calls: agentCalls.value, sampled_tokens: agentTokens.value }));
      agentBudget.disabled = false;
    });
    for (const [button, method] of [[agentPause, "agent_pause"], [agentResume, "agent_resume"], [agentStop, "agent_stop"]] as const) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        await act(root, () => request(method, {}));
        button.disabled = false;
      });
    }

    // one button's request; on success the boxes it used are emptied
    const send = async (button: HTMLButtonElement, method: string, args: Record<string, unknown>, used: (HTMLInputElement | HTMLTextAreaElement)[]) => {
      button.disabled = true;
      if (await act(root, () => request(method, args))) for (const box of used) box.value = "";
      button.disabled = false;
    };
    addNote.addEventListener("click", () =>
      send(addNote, "add_note", { text: noteText.value, entry: m.get("selected"), tags: noteTags.value }, [noteText, noteTags]));
    addTag.addEventListener("click", () => send(addTag, "add_tags", { entry: m.get("selected"), tags: noteTags.value }, [noteTags]));
    markFinding.addEventListener("click", () =>
      send(markFinding, "add_finding", { entry: m.get("selected"), text: noteText.value }, [noteText]));
    noteText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        addNote.click();
      }
    });

    const drawFilters = () => {
      fillSelect(techniqueSelect, m.get("techniques") ?? [], m.get("technique"), "all techniques");
      fillSelect(tagSelect, m.get("tags") ?? [], m.get("tag"), "all tags");
      fillSelect(actorSelect, m.get("actors") ?? [], m.get("actor"), "everyone");
      const total = m.get("total");
      const matching = m.get("matching");
      const shown = (m.get("rows") ?? []).length;
      const filtered = matching !== total ? `${matching} of ${total} calls match` : `${total} calls`;
      count.textContent = shown < matching ? `${filtered} · newest ${shown} listed` : filtered;
    };
    const drawTarget = () => {
      const selected = m.get("selected");
      const row = (m.get("rows") ?? []).find((r) => r.id === selected);
      target.textContent = row
        ? `about entry #${row.index} (${row.technique}, ${row.time}): click it again for the whole investigation`
        : "about the whole investigation: click an entry to note, tag or mark it";
      for (const item of list.querySelectorAll<HTMLElement>(".wb-entry")) {
        item.classList.toggle("selected", item.dataset.id === selected);
      }
    };
    const drawRows = () => {
      const rows = m.get("rows") ?? [];
      if (!rows.length) {
        const empty = m.get("total") ? "No call matches the filters." : "No technique has run yet: sample, search or open a text, and it appears here.";
        list.replaceChildren(h("div", { class: "wb-empty wb-muted", text: empty }));
      } else {
        list.replaceChildren(
          ...rows.map((r) => {
            const item = h("div", {
              class: r.error ? "wb-entry failed" : "wb-entry",
              attrs: { role: "listitem", "data-id": r.id, "data-technique": r.technique, "data-index": r.index, "data-actor": r.actor },
            }, [
              h("div", { class: "wb-head" }, [
                h("span", { class: "wb-index wb-muted", text: `#${r.index}` }),
                h("span", { class: "wb-technique", text: r.technique }),
                r.actor ? h("span", { class: "wb-chip wb-actor", text: r.actor, title: "made by an agent over MCP" }) : null,
                r.remote ? h("span", { class: "wb-chip wb-remote", text: r.remote, title: r.remote_detail }) : null,
                h("span", { class: "wb-time", text: r.time, title: r.date }),
                h("span", { class: "wb-duration", text: `${r.duration_s.toFixed(2)} s` }),
                r.seed !== null ? h("span", { class: "wb-time", text: `seed ${r.seed}` }) : null,
                r.replay_of ? h("span", { class: "wb-time", text: `replay of ${r.replay_of}` }) : null,
                r.findings.length ? h("span", { class: "wb-star wb-finding", text: "★", title: "a finding" }) : null,
                h("span", {}, chips(r.tags)),
              ]),
              h("div", { class: "wb-summary", text: r.summary }),
              ...r.findings.map(noteLine),
              ...r.notes.map(noteLine),
            ]);
            item.addEventListener("click", () => {
              traits.set("selected", m.get("selected") === r.id ? "" : r.id);
            });
            return item;
          }),
        );
      }
      drawTarget();
      drawFilters();
    };
    const drawNotes = () => {
      const notes = m.get("notes") ?? [];
      freeNotes.replaceChildren(...(notes.length ? [h("div", { class: "wb-muted", text: "Notes on the investigation" }), ...notes.map(noteLine)] : []));
    };
    const drawAgent = () => {
      const a = m.get("agent") ?? {};
      agentRow.hidden = !a.servers;
      if (!a.servers) return;
      const left = (a.calls_left ?? []).map((v) => (v === null ? "no cap" : String(v))).join(", ");
      agentLine.textContent = `Agent over MCP (${(a.urls ?? []).join(", ")}): ${a.paused ? "paused" : "running"} · ` +
        `${a.calls_used} calls (left ${left}) · ${a.sampled_tokens_used} tokens sampled`;
      agentPause.disabled = Boolean(a.paused);
      agentResume.disabled = !a.paused;
      // the caps in force, unless the person is typing a new one
      const cap = (values: (number | null)[] | undefined) => (values?.[0] ?? null) === null ? "" : String(values?.[0]);
      if (document.activeElement !== agentCalls) agentCalls.value = cap(a.max_calls);
      if (document.activeElement !== agentTokens) agentTokens.value = cap(a.max_sampled_tokens);
    };
    const drawPath = () => {
      path.textContent = m.get("path");
    };
    return mount(m, el, root, {
      on: {
        rows: drawRows,
        total: drawFilters,
        matching: drawFilters,
        techniques: drawFilters,
        tags: drawFilters,
        technique: drawFilters,
        tag: drawFilters,
        actors: drawFilters,
        actor: drawFilters,
        selected: drawTarget,
        notes: drawNotes,
        path: drawPath,
        agent: drawAgent,
      },
      draw: [drawRows, drawNotes, drawPath, drawAgent],
      request,
      traits,
    });
  },
};

export default widget;
