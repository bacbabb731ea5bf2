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
function visibleToken(text) {
  return text.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/ /g, "·");
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
  const count2 = shape.reduce((a, b) => a * b, 1);
  if (count2 !== data.length) {
    throw new RangeError(`encode: shape [${shape.join(", ")}] holds ${count2} values, the array has ${data.length}`);
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

// src/probes.ts
function tint(score) {
  const a = Math.min(1, Math.abs(score - 0.5) * 2) * 0.55;
  return score >= 0.5 ? `rgba(210, 40, 40, ${a.toFixed(3)})` : `rgba(40, 90, 210, ${a.toFixed(3)})`;
}
function fmt(value, digits = 2) {
  return value === null || value === void 0 || Number.isNaN(value) ? "n/a" : value.toFixed(digits);
}
function count(text) {
  return text.split(/\r?\n/).filter((line) => line.trim()).length;
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const side = (name2, hint) => {
      const box = h("textarea", { class: `wb-${name2}`, attrs: { "aria-label": `${name2} examples`, placeholder: hint, spellcheck: false } });
      const counter2 = h("span", { class: `wb-count-${name2} wb-muted` });
      box.addEventListener("input", () => {
        counter2.textContent = `${count(box.value)} examples`;
        traits.set(name2, box.value, 300);
      });
      return { box, counter: counter2 };
    };
    const positive = side("positive", "one example per line, e.g. You are a worthless fool.");
    const negative = side("negative", "one example per line, e.g. Thank you, that was kind of you.");
    const name = h("input", { class: "wb-name", attrs: { type: "text", placeholder: "probe name (optional)", "aria-label": "probe name" } });
    const layer = h("input", { class: "wb-layer", attrs: { type: "text", placeholder: "all or 3, 5", "aria-label": "layers" } });
    const position = h("select", { class: "wb-position", attrs: { "aria-label": "pooling" } }, [
      h("option", { text: "mean of the tokens", attrs: { value: "mean" } }),
      h("option", { text: "last token", attrs: { value: "last" } })
    ]);
    const train = h("button", { class: "wb-train", text: "Train" });
    const root = h("div", { class: "wb-widget wb-probe-panel" });
    const run = runControls(m, root, request, { start: [train], progress: "running" });
    const result = h("div", { class: "wb-result" });
    const vectorName = h("input", { class: "wb-vector-name", attrs: { type: "text", placeholder: "vector name", "aria-label": "vector name" } });
    const register = h("button", { class: "wb-register", text: "Register as vector" });
    const registered = h("span", { class: "wb-registered wb-muted" });
    const text = h("input", { class: "wb-text", attrs: { type: "text", placeholder: "a text to score token by token", "aria-label": "text to score" } });
    const score = h("button", { class: "wb-score", text: "Score" });
    const toPanel = sendButton(
      root,
      { class: "wb-to-panel", text: "activations", title: "open the text in the activation panel" },
      () => request("to_panel", { text: text.value })
    );
    const scores = h("div", { class: "wb-scores" });
    const use = h("div", { class: "wb-use" }, [
      h("div", { class: "wb-row" }, [vectorName, register, registered]),
      h("div", { class: "wb-row" }, [text, score, toPanel]),
      scores
    ]);
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Linear probe" }), name]),
      h("div", { class: "wb-sets" }, [
        h("div", { class: "wb-set" }, [h("span", {}, [h("b", { text: "positive " }), positive.counter]), positive.box]),
        h("div", { class: "wb-set" }, [h("span", {}, [h("b", { text: "negative " }), negative.counter]), negative.box])
      ]),
      h("div", { class: "wb-row" }, [h("label", { text: "layers " }, [layer]), h("label", { text: "pool " }, [position]), train, ...run.elements]),
      result,
      use
    );
    train.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));
    name.addEventListener("input", () => traits.set("name", name.value, 300));
    layer.addEventListener("input", () => traits.set("layer", layer.value, 300));
    position.addEventListener("change", () => traits.set("position", position.value));
    vectorName.addEventListener("input", () => traits.set("vector_name", vectorName.value, 300));
    register.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("to_vector", { name: vectorName.value });
    }));
    const scoreText = () => act(root, () => request("score", { text: text.value }));
    score.addEventListener("click", scoreText);
    text.addEventListener("keydown", (e) => {
      if (e.key === "Enter") scoreText();
    });
    const drawInputs = () => {
      for (const [key, part] of [["positive", positive], ["negative", negative]]) {
        if (document.activeElement !== part.box && !traits.pending(key)) part.box.value = m.get(key);
        part.counter.textContent = `${count(part.box.value)} examples`;
      }
      if (document.activeElement !== name) name.value = m.get("name");
      if (document.activeElement !== layer) layer.value = m.get("layer");
      position.value = m.get("position");
      layer.title = `"all" or layer numbers in 0..${m.get("n_layers") - 1}, separated by commas`;
    };
    const drawResult = () => {
      const r = m.get("result");
      if (r.layer === void 0) {
        result.replaceChildren(h("span", { class: "wb-muted", text: "train a probe to see how well each layer separates the sets" }));
      } else {
        result.replaceChildren(
          `probe ${JSON.stringify(r.name)} · layer `,
          h("b", { class: "wb-best-layer", text: String(r.layer) }),
          " · held-out accuracy ",
          h("b", { class: "wb-accuracy", text: fmt(r.accuracy) }),
          " · AUROC ",
          h("b", { class: "wb-auroc", text: fmt(r.auroc) }),
          h("span", { class: "wb-muted", text: ` · train accuracy ${fmt(r.train_accuracy)} · ${r.n} texts, ${r.n_test} held out · ${r.position} pooling` })
        );
      }
      const ready = r.layer !== void 0;
      register.disabled = !ready;
      score.disabled = !ready;
      use.style.opacity = ready ? "1" : "0.6";
    };
    const drawUse = () => {
      if (document.activeElement !== vectorName) vectorName.value = m.get("vector_name");
      if (document.activeElement !== text) text.value = m.get("text");
      const reg = m.get("registered");
      registered.textContent = reg.name === void 0 ? "" : `registered ${JSON.stringify(reg.name)} in bench.vectors at layer ${reg.layer} (natural scale ${fmt(reg.scale, 3)})`;
      const s = m.get("scores");
      if (!s.tokens) {
        scores.replaceChildren();
        return;
      }
      scores.replaceChildren(
        h("div", { class: "wb-muted", text: `probe ${JSON.stringify(s.probe)} at layer ${s.layer}: red leans positive, blue negative (hover for the score)` }),
        ...s.tokens.map((token, i) => {
          const value = s.scores[i];
          return h("span", {
            class: "wb-tok",
            text: visibleToken(token),
            title: `${JSON.stringify(token)}: ${value.toFixed(3)}`,
            attrs: { "data-score": value.toFixed(4) },
            style: { background: tint(value) }
          });
        })
      );
    };
    return mount(m, el, root, {
      on: {
        positive: drawInputs,
        negative: drawInputs,
        name: drawInputs,
        layer: drawInputs,
        position: drawInputs,
        result: drawResult,
        vector_name: drawUse,
        registered: drawUse,
        text: drawUse,
        scores: drawUse
      },
      draw: [drawInputs, drawResult, drawUse],
      run,
      request,
      traits
    });
  }
};
var probes_default = widget;
export {
  probes_default as default
};
