// The front-end of the test-only Probe widget (tests/ui/probe_widget.py): it exercises
// the shared decoder, the safe DOM helpers and requests, nothing else.
import { decode, type Payload } from "../../../widgets_js/src/lib/buffers";
import { clearError, h, showError } from "../../../widgets_js/src/lib/dom";
import { createRequester } from "../../../widgets_js/src/lib/rpc";
import type { AnyWidget } from "../../../widgets_js/src/lib/types";

interface State {
  values: Payload;
  labels: string[];
  clicks: number;
}

function describe(payload: Payload): string {
  const { data, shape } = decode(payload);
  const values = Array.from(data, (v) => String(Math.round(v * 1000) / 1000));
  return `${payload.dtype} [${shape.join(",")}]: ${values.join(" ")}`;
}

const widget: AnyWidget<State> = {
  render({ model, el }) {
    const request = createRequester(model, { timeoutMs: 60_000 });
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
      const { data, shape } = decode<Float32Array>(model.get("values"));
      try {
        const out = await request<{ scaled: Payload; total: number; labels: string[] }>("scale", {
          values: data,
          shape,
          factor: 2,
        });
        reply.replaceChildren(
          h("span", { class: "probe-scaled", text: describe(out.scaled) }),
          h("span", { class: "probe-total", text: ` total=${out.total}` }),
          ...out.labels.map((text) => h("span", { class: "probe-echo", text })),
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
  },
};

export default widget;

// For the bare-page tests of the decoder itself.
export { decode, encode, pack, unpack } from "../../../widgets_js/src/lib/buffers";
