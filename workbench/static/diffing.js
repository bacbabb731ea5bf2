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

// src/diffing.ts
var NEURON_COLUMNS = [
  ["layer", "layer"],
  ["neuron", "neuron"],
  ["activation_self", "activation (this)"],
  ["activation_other", "activation (other)"],
  ["change", "change"],
  ["value_cosine", "value-vector cosine"]
];
function fmt(value, digits = 4) {
  if (value === null || value === void 0 || Number.isNaN(value)) return "n/a";
  return Number.isInteger(value) ? String(value) : value.toPrecision(digits);
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const title = h("div", { class: "wb-title" });
    const prompts = h("textarea", { class: "wb-prompts", attrs: { "aria-label": "prompts", placeholder: "one prompt per line", spellcheck: false } });
    const listId = `wb-directions-${Math.random().toString(36).slice(2)}`;
    const choices = h("datalist", { attrs: { id: listId } });
    const direction = h("input", { class: "wb-direction", attrs: { type: "text", list: listId, placeholder: "vector or probe name", "aria-label": "direction" } });
    const nSamples = h("input", { class: "wb-n-samples", attrs: { type: "number", min: 0, step: 1, "aria-label": "samples per prompt" } });
    const maxTokens = h("input", { class: "wb-max-new-tokens", attrs: { type: "number", min: 1, step: 1, "aria-label": "new tokens" } });
    const start = h("button", { class: "wb-run", text: "Run" });
    const root = h("div", { class: "wb-widget wb-diff" });
    const run = runControls(m, root, request, { start: [start], progress: "running" });
    const summary = h("div", { class: "wb-summary" });
    const metric = h("select", { class: "wb-metric", attrs: { "aria-label": "chart metric" } });
    const neurons = h("div", { class: "wb-neurons" });
    const samples = h("div", { class: "wb-samples" });
    root.append(
      title,
      prompts,
      h("div", { class: "wb-row" }, [
        h("label", { text: "direction " }, [direction, choices]),
        h("label", { text: "samples per prompt " }, [nSamples]),
        h("label", { text: "new tokens " }, [maxTokens])
      ]),
      h("div", { class: "wb-row" }, [start, ...run.elements]),
      h("div", { class: "wb-row" }, [summary, h("label", { text: "chart " }, [metric])]),
      h("h4", { text: "Neurons" }),
      neurons,
      h("h4", { text: "Samples" }),
      samples
    );
    start.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));
    prompts.addEventListener("input", () => traits.set("prompts", prompts.value, 300));
    direction.addEventListener("input", () => traits.set("direction", direction.value, 300));
    direction.addEventListener("focus", () => act(root, async () => {
      const names = await request("directions");
      choices.replaceChildren(
        ...names.vectors.map((n) => h("option", { attrs: { value: n }, text: "steering vector" })),
        ...names.probes.filter((n) => !names.vectors.includes(n)).map((n) => h("option", { attrs: { value: n }, text: "probe" }))
      );
    }));
    const whole = (input, key, low) => {
      input.addEventListener("change", () => act(root, () => {
        const value = Number(input.value);
        if (!Number.isInteger(value) || value < low) throw new Error(`${key} must be a whole number >= ${low}, not ${JSON.stringify(input.value)}.`);
        traits.set(key, value);
      }));
    };
    whole(nSamples, "n_samples", 0);
    whole(maxTokens, "max_new_tokens", 1);
    metric.addEventListener("change", () => traits.set("metric", metric.value));
    const drawInputs = () => {
      title.replaceChildren(h("b", { text: "Model diff " }), h("span", { class: "wb-models wb-muted", text: `${m.get("self_name")} → ${m.get("other_name")}` }));
      if (document.activeElement !== prompts && !traits.pending("prompts")) prompts.value = m.get("prompts");
      if (document.activeElement !== direction && !traits.pending("direction")) direction.value = m.get("direction");
      if (document.activeElement !== nSamples) nSamples.value = String(m.get("n_samples"));
      if (document.activeElement !== maxTokens) maxTokens.value = String(m.get("max_new_tokens"));
    };
    const drawSummary = () => {
      const s = m.get("summary");
      summary.textContent = s.prompts === void 0 ? "" : `${s.prompts} prompt(s)${s.direction ? ` · direction ${s.direction}` : ""} · ` + (s.max_change ? `most changed layer ${s.most_changed_layer} (mean change ${fmt(s.max_change)})` : "no layer's mean residual changed") + ` · ${s.samples_differ} of ${s.samples} samples differ`;
      const names = m.get("metrics");
      metric.replaceChildren(...names.map((n) => h("option", { text: n.replace(/_/g, " "), attrs: { value: n } })));
      metric.value = m.get("metric");
      metric.disabled = !names.length;
    };
    const drawNeurons = () => {
      const rows = m.get("neuron_rows");
      if (!rows.length) {
        neurons.replaceChildren(h("div", { class: "wb-muted", text: m.get("summary").prompts === void 0 ? "run the comparison to list neurons" : "no neurons compared" }));
        return;
      }
      const table = h("table", {}, [
        h("thead", {}, [h("tr", {}, NEURON_COLUMNS.map(([, label]) => h("th", { text: label })))]),
        h("tbody", {}, rows.map((row) => h(
          "tr",
          { attrs: { "data-layer": row.layer, "data-neuron": row.neuron } },
          NEURON_COLUMNS.map(([key]) => {
            const value = row[key];
            const cls = key === "change" && value > 0 ? "up" : key === "change" && value < 0 ? "down" : "";
            return h("td", { class: `wb-${key} ${cls}`.trim(), text: fmt(value) });
          })
        )))
      ]);
      neurons.replaceChildren(table);
    };
    const drawSamples = () => {
      const rows = m.get("samples");
      if (!rows.length) {
        samples.replaceChildren(h("div", { class: "wb-muted", text: m.get("summary").prompts === void 0 ? "run the comparison to see both models' samples" : "no samples (samples per prompt is 0)" }));
        return;
      }
      const groups = /* @__PURE__ */ new Map();
      for (const row of rows) groups.set(row.prompt, [...groups.get(row.prompt) ?? [], row]);
      samples.replaceChildren(...Array.from(groups.values()).map((group) => h("div", { class: "wb-prompt", attrs: { "data-prompt": group[0].prompt } }, [
        h("div", { class: "wb-prompt-text", text: group[0].text }),
        h("div", { class: "wb-head" }, [h("span", { text: `this model: ${m.get("self_name")}` }), h("span", { text: `other: ${m.get("other_name")}` })]),
        ...group.map((row) => h("div", { class: "wb-pair" + (row.same ? " same" : " differs"), title: row.same ? "identical" : "the samples differ" }, [
          h("div", { class: "wb-self", text: row.self }),
          h("div", { class: "wb-other", text: row.other })
        ]))
      ])));
    };
    return mount(m, el, root, {
      on: {
        self_name: drawInputs,
        other_name: [drawInputs, drawSamples],
        prompts: drawInputs,
        direction: drawInputs,
        n_samples: drawInputs,
        max_new_tokens: drawInputs,
        summary: [drawSummary, drawNeurons, drawSamples],
        metric: drawSummary,
        metrics: drawSummary,
        neuron_rows: drawNeurons,
        samples: drawSamples
      },
      draw: [drawInputs, drawSummary, drawNeurons, drawSamples],
      run,
      request,
      traits
    });
  }
};
var diffing_default = widget;
export {
  diffing_default as default
};
