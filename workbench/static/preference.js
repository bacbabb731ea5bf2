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

// src/preference.ts
function fmt(value, digits = 2) {
  if (value === null || value === void 0 || Number.isNaN(value)) return "n/a";
  return value.toFixed(digits);
}
function fmtQ(q) {
  return q < 1e-3 ? q.toExponential(1) : q.toFixed(3);
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const start = h("button", { class: "wb-run", text: "Run audit" });
    const root = h("div", { class: "wb-widget wb-pref" });
    const run = runControls(m, root, request, { start: [start], progress: "running" });
    const summary = h("div", { class: "wb-summary wb-muted" });
    const top = h("input", { class: "wb-top", attrs: { type: "number", min: 1, max: 500, step: 1, "aria-label": "hypotheses shown" } });
    const hideArtefacts = h("input", { class: "wb-hide-artefacts", attrs: { type: "checkbox" } });
    const onlySignificant = h("input", { class: "wb-only-significant", attrs: { type: "checkbox" } });
    const list = h("div", { class: "wb-hyps" });
    const mode = h("select", { class: "wb-mode", attrs: { "aria-label": "export rule" } }, [
      h("option", { text: "remove pairs driven by blocked latents", attrs: { value: "remove" } }),
      h("option", { text: "re-weight them", attrs: { value: "reweight" } })
    ]);
    const threshold = h("input", { class: "wb-threshold", attrs: { type: "number", min: 0.05, step: 0.05, "aria-label": "threshold" } });
    const path = h("input", { class: "wb-path", attrs: { type: "text", "aria-label": "export path" } });
    const exportButton = h("button", { class: "wb-export-go", text: "Export" });
    const preview = h("div", { class: "wb-preview" });
    const exported = h("div", { class: "wb-exported wb-muted" });
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Preference audit" }), h("span", { class: "wb-dataset wb-muted", text: m.get("dataset_name") })]),
      h("div", { class: "wb-row" }, [start, ...run.elements]),
      summary,
      h("div", { class: "wb-row" }, [
        h("label", { text: "show top " }, [top]),
        h("label", {}, [hideArtefacts, " hide length artefacts"]),
        h("label", {}, [onlySignificant, " only q < 0.05"])
      ]),
      list,
      h("div", { class: "wb-export" }, [
        h("div", { class: "wb-row" }, [h("b", { text: "Export" }), mode, h("label", { text: "threshold " }, [threshold]), path, exportButton]),
        preview,
        exported
      ])
    );
    start.addEventListener("click", () => act(root, () => request("start")));
    exportButton.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("write_export");
    }));
    top.addEventListener("change", () => act(root, () => {
      const value = Number(top.value);
      if (!Number.isInteger(value) || value < 1 || value > 500) throw new Error(`top must be a whole number in 1..500, not ${JSON.stringify(top.value)}.`);
      traits.set("top", value);
    }));
    hideArtefacts.addEventListener("change", () => drawList());
    onlySignificant.addEventListener("change", () => drawList());
    mode.addEventListener("change", () => traits.set("export_mode", mode.value));
    const setThreshold = (delayMs) => {
      if (threshold.value.trim() === "" && delayMs > 0) return;
      return act(root, () => {
        const value = Number(threshold.value);
        if (!(value > 0)) throw new Error(`threshold must be a positive number, not ${JSON.stringify(threshold.value)}.`);
        traits.set("threshold", value, delayMs);
      });
    };
    threshold.addEventListener("input", () => setThreshold(300));
    threshold.addEventListener("change", () => setThreshold(0));
    path.addEventListener("input", () => traits.set("export_path", path.value, 300));
    const maxEffect = () => Math.max(1e-9, ...m.get("hypotheses").map((r) => Math.abs(r.effect_size)));
    const row = (r, scale) => {
      const markOf = m.get("marks")[String(r.latent)] ?? "";
      const allow = h("button", { class: "wb-allow" + (markOf === "allowed" ? " active" : ""), text: "allow", title: "the preference may rely on this" });
      const block = h("button", { class: "wb-block" + (markOf === "blocked" ? " active" : ""), text: "block", title: "a spurious signal: filter pairs driven by it" });
      allow.addEventListener("click", () => act(root, () => request("set_mark", { latent: r.latent, status: markOf === "allowed" ? null : "allowed" })));
      block.addEventListener("click", () => act(root, () => request("set_mark", { latent: r.latent, status: markOf === "blocked" ? null : "blocked" })));
      const width = Math.abs(r.effect_size) / scale * 50;
      const bar = h("span", { class: "wb-bar", title: `effect size ${fmt(r.effect_size)}` }, [
        h("span", {
          style: {
            left: r.effect_size >= 0 ? "50%" : `${50 - width}%`,
            width: `${width}%`,
            background: r.effect_size >= 0 ? "#1e88e5" : "#d81b60"
          }
        })
      ]);
      const toggle = h("button", { class: "wb-toggle", text: `examples (${r.examples.length})` });
      const item = h("div", { class: "wb-hyp" + (markOf ? ` ${markOf}` : ""), attrs: { "data-latent": r.latent, "data-rank": r.rank } });
      toggle.addEventListener("click", () => item.classList.toggle("open"));
      const examples = h(
        "div",
        { class: "wb-examples" },
        r.examples.map((ex, index) => {
          const side = (name) => {
            const open = sendButton(
              root,
              { class: `wb-to-panel wb-ex-${name}`, text: "activations", title: `open the ${name} response in the activation panel` },
              () => request("to_panel", { latent: r.latent, index, side: name })
            );
            return h("div", { class: `wb-side wb-${name}` }, [h("b", { text: `${name}: ` }), ex[name], " ", open]);
          };
          return h("div", { class: "wb-example-wrap" }, [
            h("div", { class: "wb-stats", text: `pair ${ex.id} · difference ${fmt(ex.diff, 3)}` }),
            h("div", { class: "wb-example" }, [side("chosen"), side("rejected")])
          ]);
        })
      );
      append(item, [
        h("div", { class: "wb-head" }, [
          h("b", { text: `#${r.rank}` }),
          h("span", { class: "wb-latent", text: `latent ${r.latent}` }),
          h("span", { class: `wb-badge ${r.direction}`, text: `${r.direction} ↑` }),
          bar,
          h("span", { class: "wb-stats", text: `d ${fmt(r.effect_size)} · q ${fmtQ(r.q)} · fires ${fmt(r.fire_chosen * 100, 0)}% / ${fmt(r.fire_rejected * 100, 0)}% · length r ${fmt(r.length_r)}` }),
          r.length_artefact ? h("span", { class: "wb-badge artefact", text: "length artefact" }) : null,
          allow,
          block,
          toggle
        ]),
        h("div", { class: "wb-hypothesis", text: r.hypothesis }),
        r.promotes.length ? h("div", { class: "wb-promotes", text: "promotes: " + r.promotes.map((t) => JSON.stringify(t)).join(" ") }) : null,
        examples
      ]);
      return item;
    };
    const drawList = () => {
      const scale = maxEffect();
      const rows = m.get("hypotheses").filter(
        (r) => !(hideArtefacts.checked && r.length_artefact) && !(onlySignificant.checked && !(r.q < 0.05))
      );
      const openLatents = new Set(
        Array.from(list.querySelectorAll(".wb-hyp.open")).map((e) => e.dataset.latent)
      );
      list.replaceChildren(...rows.map((r) => row(r, scale)));
      for (const item of list.querySelectorAll(".wb-hyp")) {
        if (openLatents.has(item.dataset.latent)) item.classList.add("open");
      }
      if (!rows.length) list.append(h("div", { class: "wb-muted", text: m.get("hypotheses").length ? "no hypothesis passes the filters" : "run the audit to list hypotheses" }));
      drawSelected(false);
    };
    const drawSelected = (scroll = true) => {
      const selected = m.get("selected");
      for (const item of list.querySelectorAll(".wb-hyp")) {
        const on = Number(item.dataset.latent) === selected;
        item.classList.toggle("selected", on);
        if (on && scroll) {
          item.classList.add("open");
          item.scrollIntoView({ block: "nearest" });
        }
      }
    };
    const drawSummary = () => {
      const s = m.get("summary");
      summary.textContent = Object.keys(s).length ? `${s.pairs} pairs · SAE ${s.sae} at layer ${s.layer} · ${s.latents_firing} latents fire · ${s.significant} with q < 0.05 · ${s.response_tokens} response tokens` : "";
    };
    const drawExportSettings = () => {
      mode.value = m.get("export_mode");
      if (document.activeElement !== threshold) threshold.value = String(m.get("threshold"));
      if (document.activeElement !== path) path.value = m.get("export_path");
      top.value = String(m.get("top"));
    };
    const drawPreview = () => {
      const p = m.get("preview");
      if (p.pairs === void 0) {
        preview.textContent = "";
        return;
      }
      const verb = p.mode === "remove" ? "removes" : "down-weights";
      preview.textContent = p.blocked ? `${p.blocked} blocked latent${p.blocked === 1 ? "" : "s"}: the export ${verb} ${p.touched} of ${p.pairs} pairs (threshold ${p.threshold})` : `no latent blocked: the export keeps all ${p.pairs} pairs as they are`;
    };
    const drawExported = () => {
      const e = m.get("exported");
      if (e.path === void 0) {
        exported.textContent = "";
        return;
      }
      const touched = e.removed !== void 0 ? `${e.removed} removed` : `${e.downweighted} down-weighted`;
      exported.textContent = `wrote ${e.kept} of ${e.pairs} pairs (${touched}) to ${e.path}; blocked latents to ${e.blocked_path}`;
    };
    const drawExportButton = () => {
      exportButton.disabled = m.get("running") || !m.get("hypotheses").length;
    };
    return mount(m, el, root, {
      on: {
        hypotheses: [drawList, drawExportButton],
        marks: drawList,
        selected: () => drawSelected(true),
        summary: drawSummary,
        preview: drawPreview,
        exported: drawExported,
        export_mode: drawExportSettings,
        threshold: drawExportSettings,
        export_path: drawExportSettings,
        top: drawExportSettings,
        running: drawExportButton
      },
      draw: [drawList, drawSummary, drawExportSettings, drawPreview, drawExported, drawExportButton],
      run,
      request,
      traits
    });
  }
};
var preference_default = widget;
export {
  preference_default as default
};
