// A stand-in for the widget manager, to test a widget's front-end without Jupyter.
//
// The page loads a bundle, builds a fake anywidget model and calls the bundle's
// initialize/render, the way anywidget does. Messages use the ipywidgets wire format:
// {method: "update", state, buffer_paths} and {method: "custom", content}, with the
// binary buffers as base64 between the page and Python. Buffers reach the widget as
// DataViews, as they do in JupyterLab.

function fromB64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new DataView(bytes.buffer);
}

function toB64(buffer) {
  const bytes = buffer instanceof ArrayBuffer
    ? new Uint8Array(buffer)
    : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

function putBuffers(state, paths, buffers) {
  paths.forEach((path, i) => {
    let obj = state;
    for (const key of path.slice(0, -1)) obj = obj[key];
    obj[path[path.length - 1]] = buffers[i];
  });
  return state;
}

function removeBuffers(value, path, paths, buffers) {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    paths.push(path);
    buffers.push(toB64(value));
    return undefined;
  }
  if (Array.isArray(value)) return value.map((v, i) => { const r = removeBuffers(v, [...path, i], paths, buffers); return r === undefined ? null : r; });
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      const r = removeBuffers(v, [...path, k], paths, buffers);
      if (r !== undefined || !(v instanceof ArrayBuffer || ArrayBuffer.isView(v))) out[k] = r;
    }
    return out;
  }
  return value;
}

class FakeModel {
  constructor(state) {
    this.state = state;
    this.handlers = new Map();
    this.dirty = new Set();
    this.saves = 0;
    this.widget_manager = { get_model: () => Promise.reject(new Error("no other models in the bare page")) };
  }
  get(key) { return this.state[key]; }
  set(key, value) {
    this.state[key] = value;
    this.dirty.add(key);
    this.emit(`change:${key}`, this, value);
    this.emit("change", this);
  }
  on(name, callback) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(callback);
  }
  off(name, callback) {
    if (name == null) { this.handlers.clear(); return; }
    if (callback == null) { this.handlers.delete(name); return; }
    this.handlers.set(name, (this.handlers.get(name) || []).filter((cb) => cb !== callback));
  }
  emit(name, ...args) {
    for (const cb of [...(this.handlers.get(name) || [])]) {
      try { cb(...args); } catch (err) { window.wbErrors.push(String(err && err.stack || err)); }
    }
  }
  save_changes() {
    this.saves += 1;
    if (this.dirty.size === 0) return;
    const state = {};
    for (const key of this.dirty) state[key] = this.state[key];
    this.dirty.clear();
    const paths = [], buffers = [];
    const stripped = removeBuffers(state, [], paths, buffers);
    toKernel({ method: "update", state: stripped, buffer_paths: paths }, buffers);
  }
  send(content, callbacks, buffers = []) {
    toKernel({ method: "custom", content }, buffers.map(toB64));
  }
  // from the kernel
  apply(message) {
    const buffers = (message.buffers || []).map(fromB64);
    const data = message.data;
    if (data.method === "update") {
      const state = putBuffers(data.state, data.buffer_paths || [], buffers);
      for (const [key, value] of Object.entries(state)) {
        this.state[key] = value;
        this.emit(`change:${key}`, this, value);
      }
      this.emit("change", this);
    } else if (data.method === "custom") {
      this.emit("msg:custom", data.content, buffers);
    }
  }
}

async function toKernel(data, buffersB64) {
  window.wbSent.push({ data, buffers: buffersB64 });
  const replies = await window.wbKernel(JSON.stringify(data), buffersB64);
  for (const message of replies || []) window.wbModel.apply(message);
}

window.wbSent = [];
window.wbErrors = [];
window.addEventListener("error", (e) => window.wbErrors.push(String(e.error && e.error.stack || e.message)));
window.addEventListener("unhandledrejection", (e) => window.wbErrors.push(String(e.reason && e.reason.stack || e.reason)));

window.wbDeliver = (messages) => { for (const m of messages) window.wbModel.apply(m); };

window.wbState = () => {
  const paths = [], buffers = [];
  const state = removeBuffers(window.wbModel.state, [], paths, buffers);
  return { state, buffer_paths: paths, buffers };
};

window.wbMount = async (url, initial) => {
  const state = putBuffers(initial.state, initial.buffer_paths, initial.buffers.map(fromB64));
  const model = new FakeModel(state);
  window.wbModel = model;
  const mod = await import(url);
  let widget = mod.default;
  if (typeof widget === "function") widget = await widget();
  const controller = new AbortController();
  const experimental = { invoke: () => Promise.reject(new Error("invoke is not available in the bare page")) };
  const host = { getWidget: () => Promise.reject(new Error("no host")), getModel: () => Promise.reject(new Error("no host")) };
  if (widget.initialize) await widget.initialize({ model, signal: controller.signal, experimental });
  const el = document.getElementById("root");
  window.wbCleanup = await widget.render({ model, el, signal: controller.signal, experimental, host });
  return true;
};
