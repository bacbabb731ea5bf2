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

// src/steering.ts
var DEBOUNCE_MS = 250;
function tint(shift) {
  const a = Math.min(1, Math.abs(shift) / 4) * 0.6;
  return shift >= 0 ? `rgba(40, 160, 60, ${a.toFixed(3)})` : `rgba(200, 40, 40, ${a.toFixed(3)})`;
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const setTrait = traits.set;
    const text = h("textarea", { class: "wb-text", attrs: { rows: 2, "aria-label": "user message", placeholder: "the user's message" } });
    const prefill = h("input", { class: "wb-prefill-input", attrs: { "aria-label": "prefill", placeholder: "optional prefill", size: 24 } });
    const resample = h("button", { class: "wb-resample", text: "Resample" });
    const newSeed = h("button", { class: "wb-new-seed", text: "New seed" });
    const root = h("div", { class: "wb-widget wb-steer-panel" });
    const run = runControls(m, root, request, { progress: "always", busy: (p) => `sampling… ${p.step}/${p.total} tokens` });
    const numbers = [
      ["n", "n", { min: 1, max: 64, step: 1 }],
      ["max_new_tokens", "max tokens", { min: 1, step: 1 }],
      ["temperature", "temperature", { min: 0, step: 0.1 }],
      ["fuzz", "fuzz", { min: 0, step: 0.05 }]
    ];
    const numberInputs = numbers.map(([name, label, attrs]) => {
      const input = h("input", { class: `wb-${String(name).replace(/_/g, "-")}`, attrs: { type: "number", "aria-label": label, ...attrs } });
      input.value = String(m.get(name));
      input.addEventListener("change", () => act(root, () => {
        const value = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(value)) throw new Error(`${label} must be a number, not ${JSON.stringify(input.value)}.`);
        setTrait(name, value);
      }));
      return { name, input, wrap: h("label", { text: label }, [input]) };
    });
    const positions = h("select", { class: "wb-positions", attrs: { "aria-label": "positions" } }, [
      h("option", { text: "all positions", attrs: { value: "all" } }),
      h("option", { text: "generated only", attrs: { value: "generated" } })
    ]);
    positions.value = m.get("positions");
    positions.addEventListener("change", () => setTrait("positions", positions.value));
    const sliders = h("div", { class: "wb-sliders" });
    const unsteered = h("div", { class: "wb-side wb-unsteered" });
    const steered = h("div", { class: "wb-side wb-steered" });
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Steering" }), text]),
      h("div", { class: "wb-row" }, [prefill, ...numberInputs.map((x) => x.wrap), positions, resample, run.cancel, newSeed, run.progress, run.status]),
      sliders,
      h("div", { class: "wb-sides" }, [unsteered, steered])
    );
    text.value = m.get("text");
    text.addEventListener("input", () => setTrait("text", text.value, 300));
    prefill.value = m.get("prefill");
    prefill.addEventListener("input", () => setTrait("prefill", prefill.value, 300));
    const drawSliders = () => {
      const vectors = m.get("vectors") ?? [];
      const coefficients = m.get("coefficients") ?? {};
      const max = m.get("max_coefficient") || 4;
      if (!vectors.length) {
        sliders.replaceChildren(h("p", { class: "wb-muted", text: 'No steering vectors yet: register one (workbench.techniques.steering) or press "Steer with this" in a linked activation panel.' }));
        return;
      }
      sliders.replaceChildren(
        ...vectors.map((v) => {
          const value = coefficients[v.name] ?? 0;
          const range = h("input", { class: "wb-range", attrs: { type: "range", min: -max, max, step: max / 80, "aria-label": `coefficient of ${v.name}` } });
          range.value = String(value);
          const shown = h("span", { class: "wb-coef", text: value.toFixed(2) });
          const zero = h("button", { class: "wb-zero", text: "0", title: "reset to 0" });
          const commit = (delay) => {
            const next = { ...m.get("coefficients") ?? {}, [v.name]: Number(range.value) };
            setTrait("coefficients", next, delay);
          };
          range.addEventListener("input", () => {
            shown.textContent = Number(range.value).toFixed(2);
            commit(DEBOUNCE_MS);
          });
          range.addEventListener("change", () => commit(DEBOUNCE_MS));
          zero.addEventListener("click", () => {
            range.value = "0";
            shown.textContent = "0.00";
            commit(0);
          });
          return h("div", { class: "wb-slider", attrs: { "data-name": v.name } }, [
            h("span", { text: v.name, title: `${v.source} · layer ${v.layer} · natural scale ${v.scale}` }),
            range,
            shown,
            zero
          ]);
        })
      );
    };
    const syncSliders = () => {
      const names = (m.get("vectors") ?? []).map((v) => v.name).join("\0");
      if (sliders.dataset.names !== names) {
        sliders.dataset.names = names;
        drawSliders();
        return;
      }
      const coefficients = m.get("coefficients") ?? {};
      for (const row of Array.from(sliders.querySelectorAll(".wb-slider"))) {
        const range = row.querySelector(".wb-range");
        const shown = row.querySelector(".wb-coef");
        const value = coefficients[row.dataset.name ?? ""] ?? 0;
        if (range && document.activeElement !== range && !traits.pending("coefficients")) {
          range.value = String(value);
          if (shown) shown.textContent = value.toFixed(2);
        }
      }
    };
    const drawResults = () => {
      const r = m.get("results") ?? {};
      const shiftPayload = m.get("_shift");
      const shifts = shiftPayload ? decode(shiftPayload).data : new Float32Array(0);
      const steerText = Object.entries(r.steer ?? {}).map(([k, v]) => `${k} ${v >= 0 ? "+" : ""}${v}`).join(", ") || "no steering";
      const side = (title, samples, tinted) => {
        let offset = 0;
        return [
          h("h4", { text: title }),
          ...(samples ?? []).map((s, i) => {
            const spans = s.tokens.map((token, j) => {
              const shift = tinted && offset + j < shifts.length ? shifts[offset + j] : 0;
              return h("span", {
                class: "wb-tok",
                text: token,
                title: tinted ? `log-probability change ${shift >= 0 ? "+" : ""}${shift.toFixed(2)}` : void 0,
                attrs: tinted ? { "data-shift": shift.toFixed(3) } : {},
                style: tinted ? { background: tint(shift) } : {}
              });
            });
            offset += s.tokens.length;
            return h("div", { class: "wb-sample", attrs: { "data-index": i } }, [
              r.prefill ? h("span", { class: "wb-prefill", text: r.prefill }) : null,
              ...spans,
              h("span", { class: "wb-muted", text: `  [${s.finish}]` })
            ]);
          })
        ];
      };
      if (!r.steered) {
        unsteered.replaceChildren(h("p", { class: "wb-muted", text: "Move a slider or press Resample." }));
        steered.replaceChildren();
        return;
      }
      unsteered.replaceChildren(...side(`Unsteered · seed ${r.seed}`, r.unsteered, false));
      steered.replaceChildren(...side(`Steered · ${steerText}`, r.steered, true));
    };
    const syncInputs = () => {
      for (const { name, input } of numberInputs) if (document.activeElement !== input) input.value = String(m.get(name));
      if (document.activeElement !== text) text.value = m.get("text");
      if (document.activeElement !== prefill) prefill.value = m.get("prefill");
      positions.value = m.get("positions");
    };
    const send = (method) => act(root, () => {
      traits.flush();
      return request(method);
    });
    resample.addEventListener("click", () => send("run"));
    newSeed.addEventListener("click", () => send("new_seed"));
    return mount(m, el, root, {
      on: {
        vectors: syncSliders,
        coefficients: syncSliders,
        max_coefficient: drawSliders,
        results: drawResults,
        _shift: drawResults,
        n: syncInputs,
        max_new_tokens: syncInputs,
        temperature: syncInputs,
        fuzz: syncInputs,
        text: syncInputs,
        prefill: syncInputs,
        positions: syncInputs
      },
      draw: [syncSliders, drawResults],
      run,
      request,
      traits
    });
  }
};
var steering_default = widget;
export {
  steering_default as default
};
