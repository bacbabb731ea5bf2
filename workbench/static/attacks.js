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
function sendButton(root, props, send, done = () => `${props.text} ✓`) {
  const button = h("button", props);
  button.addEventListener(
    "click",
    () => act(root, async () => {
      button.textContent = "…";
      try {
        button.textContent = done(await send());
      } catch (err) {
        button.textContent = props.text;
        throw err;
      }
    })
  );
  return button;
}
function runControls(model, root, request, options = {}) {
  const cancel = h("button", { class: "wb-cancel", text: "Cancel", attrs: { disabled: true } });
  const progress = options.progress ? h("progress", { class: "wb-progress", attrs: { max: 1, value: 0 } }) : null;
  const status = h("span", { class: "wb-status wb-muted" });
  cancel.addEventListener(
    "click",
    () => act(root, async () => {
      await request("stop");
      if (model.get("running")) status.textContent = "cancelling…";
    })
  );
  const draw = () => {
    const running = model.get("running");
    for (const button of options.start ?? []) button.disabled = running;
    cancel.disabled = !running;
    const p = model.get("progress") ?? { step: 0, total: 0 };
    if (progress !== null) {
      progress.max = Math.max(1, p.total);
      progress.value = Math.min(p.step, progress.max);
      if (options.progress === "running") progress.style.visibility = running ? "visible" : "hidden";
    }
    status.textContent = running && options.busy ? options.busy(p) : model.get("status");
  };
  return {
    cancel,
    progress,
    status,
    elements: progress === null ? [cancel, status] : [cancel, progress, status],
    traits: progress === null ? ["running", "status"] : ["running", "status", "progress"],
    draw
  };
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

// src/attacks.ts
var TABS = [
  ["assistant", "Assistant"],
  ["user", "User"],
  ["narrator", "Narrator"],
  ["custom", "Custom role"],
  ["compare", "Compare all"]
];
function completionNodes(prefill, continuation, spans) {
  const full = prefill + continuation;
  const cuts = /* @__PURE__ */ new Set([0, prefill.length, full.length]);
  for (const [a, b] of spans) {
    cuts.add(Math.max(0, Math.min(full.length, a)));
    cuts.add(Math.max(0, Math.min(full.length, b)));
  }
  const points = [...cuts].sort((a, b) => a - b);
  const head = h("span", { class: "wb-prefill", title: "prefill (written by you)" });
  const nodes = prefill ? [head] : [];
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    if (a === b) continue;
    const piece = full.slice(a, b);
    const hit = spans.find(([s, e]) => s <= a && b <= e);
    const node = hit ? h("mark", { class: "wb-hit", text: piece, title: hit[2] }) : document.createTextNode(piece);
    if (b <= prefill.length) head.appendChild(node);
    else nodes.push(node);
  }
  return nodes;
}
function numberInput(name, label, value, attrs) {
  const input = h("input", { class: `wb-${name}`, attrs: { type: "number", "aria-label": label, ...attrs } });
  input.value = value === null || value === void 0 ? "" : String(value);
  return { input, wrap: h("label", { text: label }, [input]) };
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const setTrait = traits.set;
    const library = h("select", { class: "wb-library", attrs: { "aria-label": "attack library" } });
    const saveName = h("input", { class: "wb-save-name", attrs: { placeholder: "name", "aria-label": "attack name", size: 12 } });
    const saveKind = h("select", { class: "wb-save-kind", attrs: { "aria-label": "attack kind" } }, [
      h("option", { text: "prefill", attrs: { value: "prefill" } }),
      h("option", { text: "system", attrs: { value: "system" } }),
      h("option", { text: "narrator", attrs: { value: "narrator" } }),
      h("option", { text: "persona", attrs: { value: "persona" } })
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
        h("label", {}, [compareSystem, "run with and without the system prompt (same seed)"])
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
        h("label", { text: "variable" }, [variable])
      ]),
      countsBox,
      results
    );
    const drawTurns = () => {
      const turns = m.get("turns") ?? [];
      turnsBox.replaceChildren(
        ...turns.map((turn, i) => {
          const roleIn = h("input", { class: "wb-turn-role", attrs: { "aria-label": `turn ${i + 1} role` } });
          roleIn.value = turn.role;
          const text = h("textarea", { class: "wb-turn-text", attrs: { rows: 2, "aria-label": `turn ${i + 1} text` } });
          text.value = turn.content;
          const remove = h("button", { class: "wb-del-turn", text: "✕", title: "delete this turn" });
          const update = (patch, delay) => {
            const next = (m.get("turns") ?? []).map((t, j) => j === i ? { ...t, ...patch } : t);
            setTrait("turns", next, delay);
          };
          roleIn.addEventListener("input", () => update({ role: roleIn.value.trim() }, 300));
          text.addEventListener("input", () => update({ content: text.value }, 300));
          remove.addEventListener("click", () => setTrait("turns", (m.get("turns") ?? []).filter((_, j) => j !== i)));
          return h("div", { class: "wb-turn", attrs: { "data-index": i } }, [roleIn, text, remove]);
        })
      );
    };
    addTurn.addEventListener("click", () => {
      traits.flush();
      const turns = m.get("turns") ?? [];
      const last = turns.length ? turns[turns.length - 1].role : "assistant";
      setTrait("turns", [...turns, { role: last === "user" ? "assistant" : "user", content: "" }]);
    });
    const NOTES = {
      assistant: "The model continues the assistant's reply after your prefill.",
      user: "The model writes the next user turn: the user persona does not keep the assistant's secrets.",
      narrator: "The model continues the raw transcript as a narrator, across turns.",
      custom: "The model writes a turn for the role you name.",
      compare: "Assistant, user, narrator (and your custom role) on one shared seed, side by side."
    };
    const drawTab = () => {
      const tab = m.get("persona");
      for (const b of tabButtons) b.classList.toggle("active", b.dataset.tab === tab);
      roleWrap.hidden = tab !== "custom" && tab !== "compare";
      prefillWrap.hidden = tab === "user" || tab === "narrator";
      narratorWrap.hidden = tab !== "narrator" && tab !== "compare";
      tabNote.textContent = NOTES[tab] ?? "";
    };
    const drawLibrary = () => {
      const entries = m.get("library") ?? [];
      const byKind = /* @__PURE__ */ new Map();
      for (const e of entries) byKind.set(e.kind, [...byKind.get(e.kind) ?? [], e]);
      library.replaceChildren(
        h("option", { text: "attack library…", attrs: { value: "" } }),
        ...[...byKind].map(
          ([kind, list]) => h("optgroup", { attrs: { label: kind } }, list.map((e) => h("option", { text: `${e.name}${e.origin === "user" ? " (yours)" : ""}`, title: e.text, attrs: { value: `${e.kind}\0${e.name}` } })))
        )
      );
    };
    library.addEventListener("change", () => {
      const [kind, name] = library.value.split("\0");
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
    const bindText = (input, name) => {
      input.value = m.get(name) ?? "";
      input.addEventListener("input", () => setTrait(name, input.value, 300));
      const sync = () => {
        if (document.activeElement !== input) input.value = m.get(name) ?? "";
      };
      m.on(`change:${name}`, sync);
      return () => m.off(`change:${name}`, sync);
    };
    const bindCheck = (input, name) => {
      input.checked = m.get(name);
      input.addEventListener("change", () => setTrait(name, input.checked));
      const sync = () => {
        input.checked = m.get(name);
      };
      m.on(`change:${name}`, sync);
      return () => m.off(`change:${name}`, sync);
    };
    const bindNumber = (input, name, integer) => {
      input.addEventListener("change", () => act(root, () => {
        const raw = input.value.trim();
        if (raw === "" && name === "seed") return setTrait("seed", null);
        const value = Number(raw);
        if (raw === "" || !Number.isFinite(value) || integer && !Number.isInteger(value)) {
          throw new Error(`${input.getAttribute("aria-label")} must be ${integer ? "a whole number" : "a number"}, not ${JSON.stringify(raw)}.`);
        }
        setTrait(name, value);
      }));
      const sync = () => {
        const v = m.get(name);
        input.value = v === null || v === void 0 ? "" : String(v);
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
      bindNumber(seed.input, "seed", true)
    ];
    runButton.addEventListener("click", async () => {
      traits.flush();
      runButton.disabled = true;
      const started = await act(root, () => request("start"));
      if (!started) runButton.disabled = m.get("running");
    });
    const sampleRow = (result, index, count) => {
      const s = result.samples[index];
      const spans = m.get("matches")?.[result.key]?.[index] ?? [];
      const toPanel = sendButton(
        root,
        { class: "wb-to-panel", text: "activations", title: "show this sample in the activation panel" },
        () => request("to_panel", { key: result.key, index })
      );
      const toVar = sendButton(
        root,
        { class: "wb-to-var", text: "→ var", title: "assign this sample to the notebook variable named above" },
        () => {
          traits.flush();
          return request("to_variable", { key: result.key, index });
        },
        (reply) => `→ ${reply.name} ✓`
      );
      return h("div", { class: "wb-sample", attrs: { "data-run": result.key, "data-index": index } }, [
        count === null ? null : h("span", { class: "wb-count", text: `×${count}`, title: `${count} near-identical samples` }),
        h("span", { class: "wb-meta", text: `#${index}` }),
        h("div", { class: "wb-text" }, completionNodes(result.prefill, s.text, spans)),
        h("span", { class: "wb-meta", text: `${s.n_tokens} tok · ${s.finish}`, title: `log-probability ${s.logprob}` }),
        h("span", { class: "wb-actions" }, [toPanel, toVar])
      ]);
    };
    const drawResults = () => {
      const grouped = m.get("group");
      results.replaceChildren(
        ...(m.get("results") ?? []).map((result) => {
          const rows = grouped ? result.groups.map((g) => sampleRow(result, g.members[0], g.count)) : result.samples.map((_, i) => sampleRow(result, i, null));
          const title = `${result.key} · ${result.samples.length} samples` + (grouped ? ` in ${result.groups.length} groups` : "") + ` · seed ${result.seed ?? "remote"}` + (result.cancelled ? " · cancelled" : "");
          return h("div", { class: "wb-set", attrs: { "data-run": result.key } }, [
            h("div", { class: "wb-set-title", text: title }),
            h("details", {}, [h("summary", { text: "exact prompt" }), h("pre", { class: "wb-prompt", text: result.prompt })]),
            ...rows
          ]);
        })
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
          ...c.rows.map(
            (row) => h("tr", { class: "wb-count-row", attrs: { "data-pattern": row.pattern } }, [
              h("td", { text: row.pattern }),
              ...row.counts.map((k, i) => h("td", { text: `${k} / ${c.n?.[i] ?? "?"}` }))
            ])
          )
        ])
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
        counts: drawCounts
      },
      draw: [drawTurns, drawTab, drawLibrary, drawResults, drawCounts],
      run,
      request,
      traits,
      teardown: unbind
    });
  }
};
var attacks_default = widget;
export {
  attacks_default as default
};
