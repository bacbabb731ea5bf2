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

// src/activations.ts
function exampleLine(e) {
  return h("div", { class: "wb-example" }, [
    h("span", { class: "wb-muted", text: `${e.activation.toFixed(2)}  ` }),
    e.before,
    h("span", { class: "hit", text: e.token }),
    e.after
  ]);
}
function histogramView(histogram) {
  const counts = decode(histogram.counts).data;
  const edges = decode(histogram.edges).data;
  let first = counts.findIndex((c) => c > 0);
  if (first < 0) return h("p", { class: "wb-muted wb-histogram", text: "Never fires on the corpus." });
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  first = Math.max(0, first);
  let peak = 0;
  let total = 0;
  for (let i = first; i <= last; i++) {
    peak = Math.max(peak, counts[i]);
    total += counts[i];
  }
  const bars = [];
  for (let i = first; i <= last; i++) {
    const height = peak > 0 ? Math.max(counts[i] > 0 ? 2 : 0, Math.round(counts[i] / peak * 48)) : 0;
    bars.push(h("div", {
      class: "wb-hist-bar",
      title: `${edges[i].toPrecision(3)}–${edges[i + 1].toPrecision(3)}: ${counts[i]} tokens`,
      attrs: { "data-count": counts[i] },
      style: { height: `${height}px` }
    }));
  }
  return h("div", { class: "wb-histogram" }, [
    h("div", { class: "wb-hist-bars" }, bars),
    h("div", { class: "wb-hist-axis wb-muted", text: `${edges[first].toPrecision(2)} … ${edges[last + 1].toPrecision(2)} (log scale) · ${total} corpus tokens` })
  ]);
}
function explanationLines(detail) {
  const lines = [];
  const e = detail.explanation;
  if (e && e.text) {
    const score = e.score === null ? "unscored" : `detection ${e.score.toFixed(2)} (${e.scorer ?? ""})`;
    lines.push(h("p", { class: "wb-explanation", text: e.text }));
    lines.push(h("p", { class: "wb-muted", text: `${e.explainer} explanation · ${score}` + (e.note ? ` · ${e.note}` : "") }));
  } else if (e && e.note) {
    lines.push(h("p", { class: "wb-muted", text: e.note }));
  }
  if (detail.published) {
    lines.push(h("p", { class: "wb-explanation wb-published", text: `Published: ${detail.published}` }));
  }
  return lines;
}
function probeColour(score) {
  const a = Math.min(1, Math.abs(score - 0.5) * 2) * 0.85;
  return score >= 0.5 ? `rgba(230, 120, 20, ${a.toFixed(3)})` : `rgba(52, 101, 164, ${a.toFixed(3)})`;
}
function colour(value, max) {
  const a = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
  return `rgba(230, 120, 20, ${(a * 0.85).toFixed(3)})`;
}
var widget = {
  render({ model, el }) {
    const request = createRequester(model, { timeoutMs: 6e5 });
    const input = h("textarea", { class: "wb-input", attrs: { rows: 2, "aria-label": "text to run" } });
    input.value = model.get("text");
    const runButton = h("button", { class: "wb-run", text: "Run" });
    const status = h("span", { class: "wb-status wb-muted" });
    const tabFeatures = h("button", { class: "wb-tab-features active", text: "Features" });
    const tabLens = h("button", { class: "wb-tab-lens", text: "Logit lens" });
    const probeSelect = h("select", { class: "wb-probe", attrs: { "aria-label": "colour by probe" } });
    const follow = h("input", { class: "wb-follow-agent", attrs: { type: "checkbox", "aria-label": "follow the agent" } });
    const followLabel = h("label", { class: "wb-follow", title: "show what an auditing agent reads over MCP (bench.serve()) as it reads it" }, [follow, " follow agent"]);
    const focusRow = h("div", { class: "wb-bar wb-agent-focus", attrs: { hidden: true } });
    const strip = h("div", { class: "wb-strip", attrs: { role: "list" } });
    const tokenPane = h("div", { class: "wb-col wb-token-detail" });
    const featurePane = h("div", { class: "wb-col wb-feature-detail" });
    const featuresView = h("div", { class: "wb-features-view" }, [strip, h("div", { class: "wb-cols" }, [tokenPane, featurePane])]);
    const lensView = h("div", { class: "wb-lens", attrs: { hidden: true } });
    const root = h("div", { class: "wb-widget wb-act" }, [
      h("div", { class: "wb-bar" }, [input, runButton]),
      h("div", { class: "wb-bar wb-tabs" }, [tabFeatures, tabLens, probeSelect, followLabel, status]),
      focusRow,
      featuresView,
      lensView
    ]);
    let featureValues = null;
    let featureMax = 0;
    let probeValues = null;
    let probeName = "";
    let span = null;
    let dragFrom = -1;
    const setStatus = (text) => {
      status.textContent = text;
    };
    const load = (pane, loading, fetch) => act(root, async () => {
      pane.replaceChildren(h("span", { class: "wb-muted", text: loading }));
      try {
        pane.replaceChildren(...await fetch());
      } catch (err) {
        pane.replaceChildren();
        throw err;
      }
    });
    const drawStrip = () => {
      const tokens = model.get("tokens");
      const selected = model.get("selected_token");
      strip.replaceChildren(
        ...tokens.map((token, i) => {
          const value = featureValues && i < featureValues.length ? featureValues[i] : 0;
          const score = probeValues && i < probeValues.length ? probeValues[i] : null;
          const title = score !== null ? `${token} | probe ${probeName}: ${score.toFixed(3)}` : featureValues ? `${token} | feature ${model.get("selected_feature")}: ${value.toFixed(3)}` : token;
          const background = score !== null ? probeColour(score) : featureValues ? colour(value, featureMax) : "transparent";
          const inSpan = span !== null && i >= span[0] && i < span[1];
          const el2 = h("span", {
            class: "wb-tok" + (i === selected ? " selected" : "") + (inSpan ? " in-span" : ""),
            text: visibleToken(token),
            title,
            attrs: { "data-index": i, role: "listitem", ...score !== null ? { "data-score": score.toFixed(4) } : {} },
            style: { background }
          });
          el2.addEventListener("click", (event) => {
            const anchor = model.get("selected_token");
            if (event.shiftKey && anchor >= 0) void selectSpan(anchor, i);
            else void selectToken(i);
          });
          el2.addEventListener("mousedown", () => {
            dragFrom = i;
          });
          el2.addEventListener("mouseup", () => {
            if (dragFrom >= 0 && dragFrom !== i) void selectSpan(dragFrom, i);
            dragFrom = -1;
          });
          return el2;
        })
      );
      const sae = model.get("sae");
      const base = sae ? `SAE ${sae} at layer ${model.get("layer")}` : "no SAE registered";
      setStatus(`${tokens.length} tokens · ${base}` + (probeValues ? ` · coloured by probe ${probeName}` : ""));
    };
    const selectToken = (index) => load(tokenPane, "loading…", async () => {
      span = null;
      const detail = await request("token", { index });
      drawStrip();
      const rows = detail.features.map((f) => {
        const row = h("tr", { class: "wb-feature-row", attrs: { "data-latent": f.latent } }, [
          h("td", { text: String(f.latent) }),
          h("td", { text: f.activation.toFixed(3) }),
          h("td", { text: f.density === void 0 ? "" : `${(f.density * 100).toFixed(2)}%` }),
          h("td", { text: (f.promoted ?? []).map(visibleToken).join(" ") }),
          h("td", { class: "wb-explanation-cell", text: f.explanation ?? "" })
        ]);
        row.addEventListener("click", () => selectFeature(f.latent));
        return row;
      });
      return [
        h("h4", { text: "Token " }, [h("code", { class: "wb-token-name", text: visibleToken(detail.token) })]),
        rows.length ? h("table", {}, [
          h("tr", {}, [h("th", { text: "feature" }), h("th", { text: "act" }), h("th", { text: "density" }), h("th", { text: "promotes" }), h("th", { text: "explanation" })]),
          ...rows
        ]) : h("p", { class: "wb-muted", text: "No features fire on this token." })
      ];
    });
    const selectFeature = (latent) => load(featurePane, "loading…", async () => {
      const detail = await request("feature", { latent });
      featureValues = decode(detail.values).data;
      featureMax = detail.max;
      if (probeName) {
        probeName = "";
        probeValues = null;
        probeSelect.value = "";
        void act(root, () => request("probe", { name: "" }));
      }
      drawStrip();
      const steer = sendButton(root, { class: "wb-steer", text: "Steer with this" }, () => request("steer", { latent }), () => "Sent to steering ✓");
      const examples = (detail.examples ?? []).map(exampleLine);
      const quantiles = (detail.quantiles ?? []).map(
        (b) => h("div", { class: "wb-quantile", attrs: { "data-low": b.low, "data-high": b.high } }, [
          h("div", { class: "wb-muted wb-quantile-title", text: `quantiles ${Math.round(b.quantiles[0] * 100)}–${Math.round(b.quantiles[1] * 100)}% · activation ${b.low.toFixed(2)}–${b.high.toFixed(2)}` }),
          ...b.examples.map(exampleLine)
        ])
      );
      const tokenList = (tokens) => (tokens ?? []).map(([t]) => visibleToken(t)).join(" ");
      return [
        h("h4", { class: "wb-feature-title", text: `Feature ${detail.latent}` }),
        h("p", {
          class: "wb-muted",
          text: `max here ${detail.max.toFixed(3)}` + (detail.density === void 0 ? "" : ` · fires on ${(detail.density * 100).toFixed(2)}% of corpus tokens`)
        }),
        h("p", { class: "wb-promoted", text: "Promotes: " + tokenList(detail.promoted) }),
        ...detail.suppressed ? [h("p", { class: "wb-suppressed", text: "Suppresses: " + tokenList(detail.suppressed) })] : [],
        ...explanationLines(detail),
        steer,
        ...detail.histogram ? [h("h5", { text: "Activations over the corpus" }), histogramView(detail.histogram)] : [],
        h("h5", { text: "Top corpus examples" }),
        ...examples.length ? examples : [h("p", { class: "wb-muted", text: "No corpus statistics for this SAE." })],
        ...quantiles.length ? [h("h5", { text: "Examples by activation quantile" }), ...quantiles] : [],
        ...detail.neighbours ? [
          neighbourTable("decoder", "Neighbours by decoder direction", "cosine", detail.neighbours.decoder),
          neighbourTable("coactivation", "Neighbours by co-activation", "Jaccard", detail.neighbours.coactivation)
        ] : []
      ];
    });
    const neighbourTable = (by, title, measure, rows) => {
      const body = rows.map((n) => {
        const row = h("tr", { class: "wb-neighbour-row", attrs: { "data-latent": n.latent } }, [
          h("td", { text: String(n.latent) }),
          h("td", { text: n.similarity.toFixed(3) }),
          h("td", { class: "wb-explanation-cell", text: n.explanation })
        ]);
        row.addEventListener("click", () => selectFeature(n.latent));
        return row;
      });
      return h("div", { class: "wb-neighbours", attrs: { "data-by": by } }, [
        h("h5", { text: title }),
        body.length ? h("table", {}, [h("tr", {}, [h("th", { text: "feature" }), h("th", { text: measure }), h("th", { text: "explanation" })]), ...body]) : h("p", { class: "wb-muted", text: "None found." })
      ]);
    };
    const selectSpan = (a, b) => {
      const start = Math.min(a, b);
      const stop = Math.max(a, b) + 1;
      span = [start, stop];
      drawStrip();
      return load(tokenPane, "finding the features of the span…", async () => {
        const detail = await request("span", { start, stop });
        const rows = detail.features.map((f) => {
          const row = h("tr", { class: "wb-span-row", attrs: { "data-latent": f.latent } }, [
            h("td", { text: String(f.latent) }),
            h("td", { text: f.span.toFixed(3) }),
            h("td", { text: f.elsewhere.toFixed(3) }),
            h("td", { class: "wb-explanation-cell", text: f.explanation })
          ]);
          row.addEventListener("click", () => selectFeature(f.latent));
          return row;
        });
        return [
          h("h4", { class: "wb-span-title", text: `Tokens ${detail.start}–${detail.stop - 1} ` }, [h("code", { class: "wb-span-text", text: visibleToken(detail.text) })]),
          rows.length ? h("table", {}, [
            h("tr", {}, [h("th", { text: "feature" }), h("th", { text: "on span" }), h("th", { text: "elsewhere" }), h("th", { text: "explanation" })]),
            ...rows
          ]) : h("p", { class: "wb-muted", text: "No feature fires on this span more than elsewhere." })
        ];
      });
    };
    const drawProbeMenu = () => {
      const names = model.get("probes");
      const chosen = model.get("selected_probe");
      probeSelect.replaceChildren(
        h("option", { text: "colour by feature", attrs: { value: "" } }),
        ...names.map((name) => h("option", { text: `probe: ${name}`, attrs: { value: name } }))
      );
      probeSelect.value = names.includes(chosen) ? chosen : "";
      probeSelect.hidden = names.length === 0;
    };
    const loadProbe = async (name) => {
      probeName = name;
      if (!name) {
        probeValues = null;
        drawStrip();
        return;
      }
      const loaded = await act(root, async () => {
        const detail = await request("probe", { name });
        if (probeName !== name) return;
        probeValues = detail.values ? decode(detail.values).data : null;
        drawStrip();
      });
      if (!loaded) {
        probeValues = null;
        probeName = "";
        probeSelect.value = "";
        drawStrip();
      }
    };
    probeSelect.addEventListener("change", () => void loadProbe(probeSelect.value));
    const onProbeChosen = () => {
      drawProbeMenu();
      const chosen = model.get("selected_probe");
      if (chosen !== probeName) void loadProbe(chosen);
    };
    const onProbesListed = () => {
      drawProbeMenu();
      if (probeName) void loadProbe(probeName);
    };
    const drawLens = () => load(lensView, "computing the logit lens…", async () => {
      const grid = await request("lens");
      const ids = decode(grid.ids);
      const probs = decode(grid.probs);
      const [nLayers, nPos] = ids.shape;
      const tokens = model.get("tokens");
      const header = h("tr", {}, [h("th", { text: "layer" }), ...tokens.map((t) => h("th", { text: visibleToken(t) }))]);
      const rows = [];
      for (let l = nLayers - 1; l >= 0; l--) {
        const cells = [h("td", { text: String(grid.layers[l]) })];
        for (let p = 0; p < nPos; p++) {
          const id = ids.data[l * nPos + p];
          const prob = probs.data[l * nPos + p];
          const text = grid.strings[String(id)] ?? String(id);
          cells.push(h("td", { text: visibleToken(text), title: `${text} (${(prob * 100).toFixed(1)}%)`, style: { background: `rgba(52, 101, 164, ${(prob * 0.6).toFixed(3)})` } }));
        }
        rows.push(h("tr", { class: "wb-lens-row" }, cells));
      }
      return [h("table", { class: "wb-lens-table" }, [header, ...rows])];
    });
    const showTab = (lens) => {
      tabFeatures.classList.toggle("active", !lens);
      tabLens.classList.toggle("active", lens);
      featuresView.hidden = lens;
      lensView.hidden = !lens;
      if (lens) void drawLens();
    };
    tabFeatures.addEventListener("click", () => showTab(false));
    tabLens.addEventListener("click", () => showTab(true));
    runButton.addEventListener("click", async () => {
      setStatus("running…");
      if (!await act(root, () => request("run", { text: input.value }))) setStatus("");
    });
    const onNewText = () => {
      span = null;
      featureValues = null;
      featureMax = 0;
      input.value = model.get("text");
      tokenPane.replaceChildren();
      featurePane.replaceChildren();
      probeValues = null;
      drawStrip();
      if (probeName) void loadProbe(probeName);
      if (!lensView.hidden) void drawLens();
    };
    follow.addEventListener("change", () => {
      model.set("follow_agent", follow.checked);
      model.save_changes();
    });
    const drawFollow = () => {
      follow.checked = model.get("follow_agent");
      focusRow.hidden = !follow.checked || !("seq" in model.get("agent_focus"));
    };
    let focusSeen = 0;
    const onAgentFocus = () => {
      drawFollow();
      const focus = model.get("agent_focus");
      if (!("seq" in focus) || focus.seq === focusSeen) return;
      focusSeen = focus.seq;
      const chips = focus.latents.map((latent) => {
        const chip = h("button", { class: "wb-chip wb-agent-latent", text: `#${latent}`, attrs: { "data-latent": latent } });
        chip.disabled = !focus.selectable;
        chip.addEventListener("click", () => void selectFeature(latent));
        return chip;
      });
      const where = focus.conversation_id ? ` on ${focus.conversation_id}` : "";
      focusRow.replaceChildren(
        h("span", { class: "wb-agent-focus-line", text: `${focus.actor || "agent"} · ${focus.tool}${where}` + (focus.sae ? ` · SAE ${focus.sae}:` : ":") }),
        ...chips
      );
      if (focus.selectable && focus.latents.length) setTimeout(() => void selectFeature(focus.latents[0]), 0);
    };
    if (model.get("selected_probe")) void loadProbe(model.get("selected_probe"));
    return mount(model, el, root, {
      on: {
        tokens: onNewText,
        _top_values: drawStrip,
        selected_probe: onProbeChosen,
        probes: onProbesListed,
        follow_agent: drawFollow,
        agent_focus: onAgentFocus
      },
      draw: [drawProbeMenu, drawStrip, onAgentFocus],
      request
    });
  }
};
var activations_default = widget;
export {
  activations_default as default
};
