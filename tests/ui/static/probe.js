// Generated from widgets_js by `npm run build`; do not edit.

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
function decode(payload) {
  const ctor = DTYPES[payload.dtype];
  if (ctor === void 0) {
    throw new TypeError(
      `decode: unknown dtype ${JSON.stringify(payload.dtype)}; valid dtypes are ${Object.keys(DTYPES).join(", ")}`
    );
  }
  const shape = Array.from(payload.shape, Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const { buffer, offset, length } = bytesOf(payload.view);
  const needed = count * ctor.BYTES_PER_ELEMENT;
  if (length !== needed) {
    throw new RangeError(
      `decode: a ${payload.dtype} payload of shape [${shape.join(", ")}] needs ${needed} bytes, got ${length}`
    );
  }
  let data;
  if (offset % ctor.BYTES_PER_ELEMENT === 0) {
    data = new ctor(buffer, offset, count);
  } else {
    const copy = new Uint8Array(length);
    copy.set(new Uint8Array(buffer, offset, length));
    data = new ctor(copy.buffer, 0, count);
  }
  return { data, shape };
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

// ../tests/ui/widget_src/probe.ts
function describe(payload) {
  const { data, shape } = decode(payload);
  const values = Array.from(data, (v) => String(Math.round(v * 1e3) / 1e3));
  return `${payload.dtype} [${shape.join(",")}]: ${values.join(" ")}`;
}
var widget = {
  render({ model, el }) {
    const request = createRequester(model, { timeoutMs: 6e4 });
    const labels = h("div", { class: "probe-labels" });
    const values = h("div", { class: "probe-values" });
    const reply = h("div", { class: "probe-reply" });
    const ask = h("button", { class: "probe-ask", text: "Scale on the kernel" });
    const fail = h("button", { class: "probe-fail", text: "Fail on the kernel" });
    const click = h("button", { class: "probe-click", text: "Count a click" });
    const root = h("div", { class: "probe-root" }, [labels, values, h("div", {}, [ask, fail, click]), reply]);
    const drawLabels = () => {
      labels.replaceChildren(...model.get("labels").map((text, i) => h("span", { class: "probe-label", text, attrs: { "data-index": i } })));
    };
    const drawValues = () => {
      try {
        values.textContent = describe(model.get("values"));
      } catch (err) {
        showError(root, err);
      }
    };
    drawLabels();
    drawValues();
    model.on("change:labels", drawLabels);
    model.on("change:values", drawValues);
    ask.addEventListener("click", async () => {
      clearError(root);
      const { data, shape } = decode(model.get("values"));
      try {
        const out = await request("scale", {
          values: data,
          shape,
          factor: 2
        });
        reply.replaceChildren(
          h("span", { class: "probe-scaled", text: describe(out.scaled) }),
          h("span", { class: "probe-total", text: ` total=${out.total}` }),
          ...out.labels.map((text) => h("span", { class: "probe-echo", text }))
        );
      } catch (err) {
        showError(root, err);
      }
    });
    fail.addEventListener("click", async () => {
      try {
        await request("fail", {});
      } catch (err) {
        showError(root, err);
      }
    });
    click.addEventListener("click", () => {
      model.set("clicks", model.get("clicks") + 1);
      model.save_changes();
    });
    el.appendChild(root);
    return () => {
      request.dispose();
      model.off("change:labels", drawLabels);
      model.off("change:values", drawValues);
    };
  }
};
var probe_default = widget;
export {
  decode,
  probe_default as default,
  encode,
  pack,
  unpack
};
