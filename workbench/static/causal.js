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

// src/causal.ts
var SITES = ["resid_post", "attn_out", "mlp_out", "resid_mid", "mlp_in"];
function tint(value, scale) {
  const a = Math.min(1, Math.abs(value) / (scale || 1)) * 0.7;
  return value >= 0 ? `rgba(210, 40, 40, ${a.toFixed(3)})` : `rgba(40, 90, 210, ${a.toFixed(3)})`;
}
function signed(value, digits = 3) {
  return `${value >= 0 ? "+" : ""}${value.toFixed(digits)}`;
}
var widget = {
  render({ model, el }) {
    const m = model;
    const request = createRequester(model, { timeoutMs: 6e5 });
    const traits = traitWriter(m);
    const root = h("div", { class: "wb-widget wb-causal-panel" });
    const modeButtons = {
      attribution: h("button", { class: "wb-mode wb-mode-attribution", text: "Attribution" }),
      patching: h("button", { class: "wb-mode wb-mode-patching", text: "Patching" })
    };
    for (const [name, button] of Object.entries(modeButtons)) {
      button.addEventListener("click", () => traits.set("mode", name));
    }
    const prompt = h("textarea", { class: "wb-prompt", attrs: { "aria-label": "prompt", placeholder: "a prompt, e.g. The capital of France is", spellcheck: false } });
    const target = h("input", { class: "wb-target", attrs: { type: "text", "aria-label": "target", placeholder: "target continuation, e.g. ' Paris'" } });
    const sae = h("select", { class: "wb-sae", attrs: { "aria-label": "SAE" } });
    const k = h("input", { class: "wb-k", attrs: { type: "number", min: 1, max: 50, "aria-label": "latents per token" } });
    const attributionInputs = h("div", { class: "wb-attribution-inputs" }, [
      prompt,
      h("div", { class: "wb-row" }, [h("label", { text: "target " }, [target]), h("label", { text: "SAE " }, [sae]), h("label", { text: "latents per token " }, [k])])
    ]);
    prompt.addEventListener("input", () => traits.set("prompt", prompt.value, 300));
    target.addEventListener("input", () => traits.set("target", target.value, 300));
    sae.addEventListener("change", () => traits.set("sae", sae.value));
    k.addEventListener("input", () => {
      const value = Number.parseInt(k.value, 10);
      if (Number.isFinite(value) && value >= 1) traits.set("k", value, 300);
    });
    const clean = h("input", { class: "wb-clean", attrs: { type: "text", "aria-label": "clean prompt", placeholder: "clean prompt, e.g. The capital of France is" } });
    const corrupted = h("input", { class: "wb-corrupted", attrs: { type: "text", "aria-label": "corrupted prompt", placeholder: "corrupted prompt, e.g. The capital of Italy is" } });
    const patchTarget = h("input", { class: "wb-patch-target", attrs: { type: "text", "aria-label": "target token", placeholder: "token (empty: the clean run's top)" } });
    const site = h("select", { class: "wb-site", attrs: { "aria-label": "site" } }, SITES.map((s) => h("option", { text: s, attrs: { value: s } })));
    const patchingInputs = h("div", { class: "wb-patching-inputs" }, [
      h("div", { class: "wb-row" }, [h("label", { text: "clean " }, [clean])]),
      h("div", { class: "wb-row" }, [h("label", { text: "corrupted " }, [corrupted])]),
      h("div", { class: "wb-row" }, [h("label", { text: "target " }, [patchTarget]), h("label", { text: "site " }, [site])])
    ]);
    clean.addEventListener("input", () => traits.set("clean", clean.value, 300));
    corrupted.addEventListener("input", () => traits.set("corrupted", corrupted.value, 300));
    patchTarget.addEventListener("input", () => traits.set("patch_target", patchTarget.value, 300));
    site.addEventListener("change", () => traits.set("site", site.value));
    const go = h("button", { class: "wb-run", text: "Run" });
    const run = runControls(m, root, request, { start: [go], progress: "running" });
    go.addEventListener("click", () => act(root, () => {
      traits.flush();
      return request("start");
    }));
    const attributionView = h("div", { class: "wb-attribution-view" });
    const ablationView = h("div", { class: "wb-ablation" });
    const patchingView = h("div", { class: "wb-patching-view" });
    const cellView = h("div", { class: "wb-cell-text" });
    root.append(
      h("div", { class: "wb-row" }, [h("b", { text: "Does it cause it?" }), modeButtons.attribution, modeButtons.patching]),
      attributionInputs,
      patchingInputs,
      h("div", { class: "wb-row" }, [go, ...run.elements]),
      h("div", { class: "wb-attribution-pane" }, [attributionView, ablationView]),
      h("div", { class: "wb-patching-pane" }, [patchingView, cellView])
    );
    const drawMode = () => {
      const mode = m.get("mode");
      for (const [name, button] of Object.entries(modeButtons)) button.classList.toggle("wb-active", name === mode);
      attributionInputs.hidden = mode !== "attribution";
      patchingInputs.hidden = mode !== "patching";
      root.querySelector(".wb-attribution-pane").hidden = mode !== "attribution";
      root.querySelector(".wb-patching-pane").hidden = mode !== "patching";
    };
    const drawInputs = () => {
      if (document.activeElement !== prompt && !traits.pending("prompt")) prompt.value = m.get("prompt");
      if (document.activeElement !== target && !traits.pending("target")) target.value = m.get("target");
      if (document.activeElement !== clean && !traits.pending("clean")) clean.value = m.get("clean");
      if (document.activeElement !== corrupted && !traits.pending("corrupted")) corrupted.value = m.get("corrupted");
      if (document.activeElement !== patchTarget && !traits.pending("patch_target")) patchTarget.value = m.get("patch_target");
      if (document.activeElement !== k) k.value = String(m.get("k"));
      const names = m.get("saes");
      sae.replaceChildren(...(names.length ? names : [""]).map((n) => h("option", { text: n || "no SAE registered", attrs: { value: n } })));
      sae.value = m.get("sae");
      site.value = m.get("site");
    };
    const drawAttribution = () => {
      const r = m.get("attribution_result");
      const rows = m.get("attribution_rows");
      if (!r.tokens) {
        attributionView.replaceChildren(h("span", { class: "wb-muted", text: "Run to rank the SAE's latents at each token by their attribution to the target" }));
        return;
      }
      const scale = Math.max(1e-9, ...rows.map((row) => Math.abs(row.attribution)));
      const byToken = /* @__PURE__ */ new Map();
      for (const row of rows) {
        if (!byToken.has(row.position)) byToken.set(row.position, []);
        byToken.get(row.position).push(row);
      }
      const table = h("table", { class: "wb-attribution-table" }, [
        h("thead", {}, [h("tr", {}, [h("th", { text: "#" }), h("th", { text: "token" }), h("th", { text: "top latents (attribution = activation × gradient; click to zero one)" })])])
      ]);
      const body = h("tbody");
      r.tokens.forEach((token, position) => {
        const latents = byToken.get(position) ?? [];
        body.append(h("tr", { class: "wb-token-row", attrs: { "data-position": position } }, [
          h("td", { class: "wb-muted", text: String(position) }),
          h("td", { class: "wb-token", text: visibleToken(token), title: JSON.stringify(token) }),
          h("td", {}, latents.map((row) => {
            const chip = h("button", {
              class: "wb-latent",
              text: `${row.latent} ${signed(row.attribution)}`,
              title: `latent ${row.latent} at ${JSON.stringify(token)}: activation ${row.activation.toFixed(3)}, attribution ${signed(row.attribution, 4)}`,
              attrs: { "data-latent": row.latent, "data-position": position, "data-attribution": row.attribution.toFixed(6) },
              style: { background: tint(row.attribution, scale) }
            });
            chip.addEventListener("click", () => act(root, () => request("ablate_latent", { position, latent: row.latent })));
            return chip;
          }))
        ]));
      });
      table.append(body);
      attributionView.replaceChildren(
        h("div", { class: "wb-attribution-summary" }, [
          "target ",
          h("b", { class: "wb-target-shown", text: JSON.stringify(r.target ?? "") }),
          ` · log-prob ${(r.logprob ?? 0).toFixed(3)} · SAE ${JSON.stringify(r.sae ?? "")} at layer ${r.layer} (${r.site}) · red raises the target, blue lowers it`
        ]),
        table
      );
    };
    const drawAblation = () => {
      const a = m.get("ablation");
      if (a.latent === void 0) {
        ablationView.replaceChildren();
        return;
      }
      const predicted = a.attribution === null || a.attribution === void 0 ? "n/a" : signed(-a.attribution);
      ablationView.replaceChildren(
        `zeroing latent ${a.latent} at token ${a.position} (`,
        h("span", { class: "wb-token", text: visibleToken(a.token ?? "") }),
        "): measured change ",
        h("b", { class: "wb-measured", text: signed(a.change ?? 0) }),
        " in the target's log-prob; the attribution predicted ",
        h("b", { class: "wb-predicted", text: predicted })
      );
    };
    const drawPatching = () => {
      const r = m.get("patching_result");
      const payload = m.get("effect");
      if (!r.layers || !payload) {
        patchingView.replaceChildren(h("span", { class: "wb-muted", text: "Run to patch each layer and token from the clean run into the corrupted one" }));
        return;
      }
      const effect = decode(payload);
      const [nLayers, nPositions] = effect.shape;
      const tokens = r.tokens ?? [];
      const corruptedTokens = r.corrupted_tokens ?? [];
      const positions = r.positions ?? [];
      const grid = h("div", { class: "wb-heatmap", style: { "grid-template-columns": `4em repeat(${nPositions}, minmax(2.6em, 1fr))` } });
      grid.append(h("div", { class: "wb-muted", text: "layer" }));
      for (const p of positions) {
        const differs = tokens[p] !== corruptedTokens[p];
        grid.append(h("div", {
          class: `wb-col-token${differs ? " wb-differs" : ""}`,
          text: visibleToken(tokens[p] ?? ""),
          title: differs ? `clean ${JSON.stringify(tokens[p])} / corrupted ${JSON.stringify(corruptedTokens[p])}` : JSON.stringify(tokens[p])
        }));
      }
      for (let i = nLayers - 1; i >= 0; i--) {
        const layer = r.layers[i];
        grid.append(h("div", { class: "wb-muted wb-row-layer", text: String(layer) }));
        for (let j = 0; j < nPositions; j++) {
          const value = effect.data[i * nPositions + j];
          const position = positions[j];
          const cell = h("div", {
            class: "wb-cell",
            text: value.toFixed(2),
            title: `layer ${layer}, token ${position} (${JSON.stringify(tokens[position])}): restores ${value.toFixed(3)}; click for the patched text`,
            attrs: { "data-layer": layer, "data-position": position, "data-effect": value.toFixed(4), role: "button" },
            style: { background: tint(value, 1) }
          });
          cell.addEventListener("click", () => act(root, () => request("patched_text", { layer, position })));
          grid.append(cell);
        }
      }
      patchingView.replaceChildren(
        h("div", { class: "wb-patching-summary" }, [
          `p(${JSON.stringify(r.target ?? "")}) clean ${(r.p_clean ?? 0).toFixed(3)}, corrupted ${(r.p_corrupted ?? 0).toFixed(3)} · ${r.site} · most restored at layer `,
          h("b", { class: "wb-best", text: `${r.best?.[0]}, token ${r.best?.[1]}` }),
          " · 1 restores the clean answer, 0 changes nothing"
        ]),
        grid
      );
    };
    const drawCell = () => {
      const c = m.get("cell");
      if (c.layer === void 0) {
        cellView.replaceChildren();
        return;
      }
      cellView.replaceChildren(
        h("div", { class: "wb-muted", text: `patched layer ${c.layer}, token ${c.position} (${JSON.stringify(c.corrupted_token)} → ${JSON.stringify(c.token)}): restores ${(c.effect ?? 0).toFixed(3)}, p ${(c.prob ?? 0).toFixed(4)}; the corrupted prompt then continues:` }),
        h("div", { class: "wb-patched-text", text: c.text ?? "" })
      );
    };
    return mount(m, el, root, {
      on: {
        mode: drawMode,
        prompt: drawInputs,
        target: drawInputs,
        clean: drawInputs,
        corrupted: drawInputs,
        patch_target: drawInputs,
        sae: drawInputs,
        saes: drawInputs,
        k: drawInputs,
        site: drawInputs,
        attribution_result: drawAttribution,
        attribution_rows: drawAttribution,
        ablation: drawAblation,
        patching_result: drawPatching,
        effect: drawPatching,
        cell: drawCell
      },
      draw: [drawMode, drawInputs, drawAttribution, drawAblation, drawPatching, drawCell],
      run,
      request,
      traits
    });
  }
};
var causal_default = widget;
export {
  causal_default as default
};
