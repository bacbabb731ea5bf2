// Generated from widgets_js by `npm run build`; do not edit.

// src/lib/dom.ts
function h(tag, props = {}, children = []) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== void 0) el.textContent = props.text;
  if (props.title !== void 0) el.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name) || /^(srcdoc)$/i.test(name)) {
      throw new Error(`h: refusing to set attribute ${name}; attach listeners with addEventListener`);
    }
    if (value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [name, value] of Object.entries(props.style ?? {})) {
    if (value !== void 0) el.style.setProperty(name, value);
  }
  append(el, children);
  return el;
}
function append(parent, children) {
  for (const child of children) {
    if (child === null || child === void 0 || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}
function showError(el, error) {
  const message = error instanceof Error ? error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message : String(error);
  let box = el.querySelector(":scope > .wb-error");
  if (box === null) {
    box = h("div", { class: "wb-error", attrs: { role: "alert" } });
    el.appendChild(box);
  }
  box.textContent = message;
  return box;
}
function clearError(el) {
  el.querySelector(":scope > .wb-error")?.remove();
}
function syncError(el, message) {
  if (message) showError(el, message);
  else clearError(el);
}

// src/lib/panel.ts
async function act(root, fn) {
  clearError(root);
  try {
    await fn();
    return true;
  } catch (err) {
    showError(root, err);
    return false;
  }
}
function mount(model, el, root, options = {}) {
  const showTraitError = () => syncError(root, model.get("error"));
  const listeners = [];
  for (const [trait, fns] of Object.entries(options.on ?? {})) {
    for (const fn of Array.isArray(fns) ? fns : [fns]) listeners.push([`change:${trait}`, fn]);
  }
  const run = options.run;
  if (run) for (const trait of run.traits) listeners.push([`change:${trait}`, run.draw]);
  listeners.push(["change:error", showTraitError]);
  for (const [event, fn] of listeners) model.on(event, fn);
  for (const draw of options.draw ?? []) draw();
  run?.draw();
  showTraitError();
  el.appendChild(root);
  return () => {
    options.traits?.flush();
    options.request?.dispose();
    for (const [event, fn] of listeners) model.off(event, fn);
    for (const undo of options.teardown ?? []) undo();
  };
}

// src/lib/buffers.ts
var DTYPES = {
  float32: Float32Array,
  float64: Float64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array
};
function bytesOf(view) {
  if (view instanceof ArrayBuffer) {
    return { buffer: view, offset: 0, length: view.byteLength };
  }
  if (ArrayBuffer.isView(view)) {
    return { buffer: view.buffer, offset: view.byteOffset, length: view.byteLength };
  }
  throw new TypeError(
    `decode: view must be a DataView, ArrayBuffer or typed array, got ${Object.prototype.toString.call(view)}`
  );
}
function encode(data, shape = [data.length]) {
  const name = Object.keys(DTYPES).find((k) => data instanceof DTYPES[k]);
  if (name === void 0) {
    throw new TypeError(`encode: unsupported array type; valid dtypes are ${Object.keys(DTYPES).join(", ")}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) {
    throw new RangeError(`encode: shape [${shape.join(", ")}] holds ${count} values, the array has ${data.length}`);
  }
  return { view: new DataView(data.buffer, data.byteOffset, data.byteLength), dtype: name, shape };
}
function pack(content) {
  const bufferPaths = [];
  const buffers = [];
  const REMOVED = /* @__PURE__ */ Symbol("removed");
  const walk = (value, path) => {
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const { buffer, offset, length } = bytesOf(value);
      bufferPaths.push(path);
      buffers.push(new DataView(buffer, offset, length));
      return REMOVED;
    }
    if (Array.isArray(value)) {
      return value.map((item, i) => {
        const out = walk(item, [...path, i]);
        return out === REMOVED ? null : out;
      });
    }
    if (value !== null && typeof value === "object") {
      const out = {};
      for (const [key, item] of Object.entries(value)) {
        const v = walk(item, [...path, key]);
        if (v !== REMOVED) out[key] = v;
      }
      return out;
    }
    return value;
  };
  const stripped = walk(content, []);
  if (stripped === REMOVED) {
    throw new TypeError("pack: the content itself is binary; wrap it in an object, e.g. {data: ...}");
  }
  return { content: stripped, bufferPaths, buffers };
}
function unpack(content, bufferPaths = [], buffers = []) {
  if (bufferPaths.length !== buffers.length) {
    throw new RangeError(`unpack: ${bufferPaths.length} buffer paths but ${buffers.length} buffers were received`);
  }
  bufferPaths.forEach((path, i) => {
    if (path.length === 0) throw new RangeError("unpack: an empty buffer path");
    let obj = content;
    for (const key of path.slice(0, -1)) obj = obj[key];
    const b = buffers[i];
    obj[path[path.length - 1]] = b instanceof DataView ? b : (() => {
      const { buffer, offset, length } = bytesOf(b);
      return new DataView(buffer, offset, length);
    })();
  });
  return content;
}

// src/lib/rpc.ts
var RequestError = class extends Error {
  constructor(type, message) {
    super(message);
    this.name = type;
  }
};
var counter = 0;
function typedArraysToPayloads(value) {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return encode(value);
  }
  if (Array.isArray(value)) return value.map(typedArraysToPayloads);
  if (value !== null && typeof value === "object" && !(value instanceof DataView) && !(value instanceof ArrayBuffer)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typedArraysToPayloads(v)]));
  }
  return value;
}
function createRequester(model, defaults = {}) {
  const prefix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-`;
  const pending = /* @__PURE__ */ new Map();
  const onMessage = (msg, buffers = []) => {
    const m = msg;
    if (m === null || typeof m !== "object" || m.kind !== "wb:response") return;
    const entry = pending.get(m.id);
    if (entry === void 0) return;
    pending.delete(m.id);
    if (entry.timer !== void 0) clearTimeout(entry.timer);
    if (m.ok) {
      try {
        entry.resolve(unpack(m.result, m.buffer_paths ?? [], buffers ?? []));
      } catch (e) {
        entry.reject(e);
      }
    } else {
      entry.reject(new RequestError(m.error?.type ?? "Error", m.error?.message ?? "the request failed"));
    }
  };
  model.on("msg:custom", onMessage);
  const request = ((method, args = {}, options = {}) => new Promise((resolve, reject) => {
    const id = prefix + String(++counter);
    const { content, bufferPaths, buffers } = pack(typedArraysToPayloads(args));
    const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
    const entry = {
      resolve,
      reject
    };
    if (timeoutMs !== void 0) {
      entry.timer = setTimeout(() => {
        pending.delete(id);
        reject(new RequestError("TimeoutError", `no reply to ${method} within ${timeoutMs} ms; is the kernel busy or dead?`));
      }, timeoutMs);
    }
    pending.set(id, entry);
    model.send({ kind: "wb:request", id, method, args: content, buffer_paths: bufferPaths }, void 0, buffers);
  }));
  request.dispose = () => {
    model.off("msg:custom", onMessage);
    for (const [id, entry] of pending) {
      if (entry.timer !== void 0) clearTimeout(entry.timer);
      entry.reject(new RequestError("AbortError", `request ${id} abandoned: the view was removed`));
    }
    pending.clear();
  };
  return request;
}

// src/lib/traits.ts
function traitWriter(model) {
  const timers = /* @__PURE__ */ new Map();
  return {
    set(name, value, delayMs = 0) {
      model.set(name, value);
      const waiting = timers.get(name);
      if (waiting !== void 0) clearTimeout(waiting);
      timers.delete(name);
      if (delayMs === 0) {
        model.save_changes();
        return;
      }
      timers.set(name, setTimeout(() => {
        timers.delete(name);
        model.save_changes();
      }, delayMs));
    },
    flush() {
      if (!timers.size) return;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      model.save_changes();
    },
    pending(name) {
      return timers.has(name);
    }
  };
}

// src/journal.ts
function chips(tags) {
  return tags.map((t) => h("span", { class: "wb-chip wb-tag", text: t }));
}
function noteLine(note) {
  const finding = note.kind === "finding";
  return h("div", { class: finding ? "wb-finding" : "wb-note" }, [
    h("span", { text: `${finding ? "★ finding" : "note"} ${note.time}${note.actor ? ` (${note.actor})` : ""}: ` }),
    h("span", { class: "wb-note-text", text: note.text }),
    " ",
    ...chips(note.tags)
  ]);
}
function fillSelect(select, values, current, allLabel) {
  const options = ["", ...values];
  if (current && !values.includes(current)) options.push(current);
  select.replaceChildren(...options.map((v) => h("option", { text: v || allLabel, attrs: { value: v } })));
  select.value = current;
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e4 });
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
      agentLine,
      agentPause,
      agentResume,
      agentStop,
      h("label", { text: "calls " }, [agentCalls]),
      h("label", { text: "tokens " }, [agentTokens]),
      agentBudget
    ]);
    const root = h("div", { class: "wb-widget wb-journal" }, [
      h("div", { class: "wb-row" }, [h("b", { text: "Journal" }), path]),
      agentRow,
      h("div", { class: "wb-row" }, [
        h("label", { text: "technique " }, [techniqueSelect]),
        h("label", { text: "tag " }, [tagSelect]),
        h("label", { text: "who " }, [actorSelect]),
        count
      ]),
      list,
      freeNotes,
      target,
      h("div", { class: "wb-row" }, [noteText, noteTags, addNote, addTag, markFinding])
    ]);
    techniqueSelect.addEventListener("change", () => traits.set("technique", techniqueSelect.value));
    tagSelect.addEventListener("change", () => traits.set("tag", tagSelect.value));
    actorSelect.addEventListener("change", () => traits.set("actor", actorSelect.value));
    agentBudget.addEventListener("click", async () => {
      agentBudget.disabled = true;
      await act(root, () => request("agent_budget", { calls: agentCalls.value, sampled_tokens: agentTokens.value }));
      agentBudget.disabled = false;
    });
    for (const [button, method] of [[agentPause, "agent_pause"], [agentResume, "agent_resume"], [agentStop, "agent_stop"]]) {
      button.addEventListener("click", async () => {
        button.disabled = true;
        await act(root, () => request(method, {}));
        button.disabled = false;
      });
    }
    const send = async (button, method, args, used) => {
      button.disabled = true;
      if (await act(root, () => request(method, args))) for (const box of used) box.value = "";
      button.disabled = false;
    };
    addNote.addEventListener("click", () => send(addNote, "add_note", { text: noteText.value, entry: m.get("selected"), tags: noteTags.value }, [noteText, noteTags]));
    addTag.addEventListener("click", () => send(addTag, "add_tags", { entry: m.get("selected"), tags: noteTags.value }, [noteTags]));
    markFinding.addEventListener("click", () => send(markFinding, "add_finding", { entry: m.get("selected"), text: noteText.value }, [noteText]));
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
      target.textContent = row ? `about entry #${row.index} (${row.technique}, ${row.time}): click it again for the whole investigation` : "about the whole investigation: click an entry to note, tag or mark it";
      for (const item of list.querySelectorAll(".wb-entry")) {
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
              attrs: { role: "listitem", "data-id": r.id, "data-technique": r.technique, "data-index": r.index, "data-actor": r.actor }
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
                h("span", {}, chips(r.tags))
              ]),
              h("div", { class: "wb-summary", text: r.summary }),
              ...r.findings.map(noteLine),
              ...r.notes.map(noteLine)
            ]);
            item.addEventListener("click", () => {
              traits.set("selected", m.get("selected") === r.id ? "" : r.id);
            });
            return item;
          })
        );
      }
      drawTarget();
      drawFilters();
    };
    const drawNotes = () => {
      const notes = m.get("notes") ?? [];
      freeNotes.replaceChildren(...notes.length ? [h("div", { class: "wb-muted", text: "Notes on the investigation" }), ...notes.map(noteLine)] : []);
    };
    const drawAgent = () => {
      const a = m.get("agent") ?? {};
      agentRow.hidden = !a.servers;
      if (!a.servers) return;
      const left = (a.calls_left ?? []).map((v) => v === null ? "no cap" : String(v)).join(", ");
      agentLine.textContent = `Agent over MCP (${(a.urls ?? []).join(", ")}): ${a.paused ? "paused" : "running"} · ${a.calls_used} calls (left ${left}) · ${a.sampled_tokens_used} tokens sampled`;
      agentPause.disabled = Boolean(a.paused);
      agentResume.disabled = !a.paused;
      const cap = (values) => (values?.[0] ?? null) === null ? "" : String(values?.[0]);
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
        agent: drawAgent
      },
      draw: [drawRows, drawNotes, drawPath, drawAgent],
      request,
      traits
    });
  }
};
var journal_default = widget;
export {
  journal_default as default
};
