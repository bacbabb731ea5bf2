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

// src/search.ts
var MODES = [
  ["keyword", "Keyword"],
  ["regex", "Regex"],
  ["semantic", "Semantic"],
  ["feature", "SAE feature"]
];
var PLACEHOLDER = {
  keyword: "words to find, one per line",
  regex: "regular expressions, one per line",
  semantic: "describe what you are looking for",
  feature: "an SAE latent id, e.g. 1996"
};
function highlighted(text, spans) {
  const sorted = [...spans].sort((a, b) => a[0] - b[0]);
  const nodes = [];
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
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
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
      list
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
          const open = sendButton(
            root,
            { class: "wb-to-panel", text: "activations", title: "open this document in the activation panel" },
            () => request("to_panel", { rank: r.rank })
          );
          return h("div", { class: "wb-result", attrs: { "data-rank": r.rank, "data-id": r.id } }, [
            h("span", { class: "wb-meta", text: `#${r.rank} · ${r.id}`, title: `row ${r.row}` }),
            h("div", { class: "wb-doc" }, [
              ...highlighted(r.text, r.spans),
              r.tokens.length ? h("div", { class: "wb-tokens", text: "fires on: " + r.tokens.map(([t, v]) => `${JSON.stringify(t)} ${v}`).join(", ") }) : null
            ]),
            h("span", { class: "wb-meta", text: `score ${r.score}` + (r.count ? ` · ${r.count} ${r.tokens.length ? "tokens" : "hits"}` : "") }),
            open
          ]);
        })
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
      traits
    });
  }
};
var search_default = widget;
export {
  search_default as default
};
