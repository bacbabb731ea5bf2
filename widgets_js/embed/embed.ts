// Offline renderer of saved widget state: the journal export and notebooks converted
// with `python -m workbench.export`.
//
// It finds <script type="application/vnd.jupyter.widget-state+json"> (the models) and
// <script type="application/vnd.jupyter.widget-view+json"> (where to show which model)
// in the page, as nbconvert writes them, and renders each view with the HTML widget
// manager. ipywidgets' own models (boxes, layouts, controls) come with the manager;
// anywidgets (every workbench panel, altair's JupyterChart) with anywidget's front-end,
// which runs the `_esm` saved in each model's state. Any other module is refused, so
// the page never fetches code: it renders with the network off.
import * as base from "@jupyter-widgets/base";
import { HTMLManager } from "@jupyter-widgets/html-manager/lib/htmlmanager";
// widgets_js/build.mjs turns anywidget's AMD front-end into this factory
import createAnywidget from "anywidget-factory";
import controlsCss from "@jupyter-widgets/controls/css/widgets-base.css";
import labVariablesCss from "@jupyter-widgets/controls/css/labvariables.css";
// lumino's own rules (a hidden tab's page is display: none), as the HTML manager's embedder loads them
import luminoCss from "@lumino/widgets/style/index.css";

const STATE = "application/vnd.jupyter.widget-state+json";
const VIEW = "application/vnd.jupyter.widget-view+json";

type Module = Record<string, unknown>;

const local: Record<string, Module> = {
  anywidget: createAnywidget(base) as Module,
};

/** Resolve a widget module from this bundle only; anything else is an error, never a fetch. */
export async function loader(name: string, version: string): Promise<Module> {
  const found = local[name];
  if (found === undefined) {
    throw new Error(
      `widget module ${name}@${version} is not in this offline page (it carries ` +
        `${["@jupyter-widgets/base", "@jupyter-widgets/controls", ...Object.keys(local)].join(", ")}); ` +
        "the widget cannot be shown here",
    );
  }
  return found;
}

function addStyle(css: string, id: string): void {
  if (document.getElementById(id)) return;
  const style = document.createElement("style");
  style.id = id;
  style.textContent = css;
  document.head.appendChild(style);
}

function showError(where: Element, message: string): void {
  const box = document.createElement("pre");
  box.className = "wb-embed-error";
  box.style.color = "#b00020";
  box.textContent = message;
  where.appendChild(box);
}

async function renderState(root: ParentNode, stateTag: Element): Promise<number> {
  const state = JSON.parse(stateTag.textContent || "{}");
  const manager = new HTMLManager({ loader });
  const models = await manager.set_state(state);
  let shown = 0;
  for (const tag of Array.from(root.querySelectorAll(`script[type="${VIEW}"]`))) {
    const spec = JSON.parse(tag.textContent || "{}");
    const model = models.find((m) => m.model_id === spec.model_id);
    if (model === undefined || tag.parentElement === null) continue;
    const host = document.createElement("div");
    host.className = "widget-subarea";
    tag.parentElement.insertBefore(host, tag);
    try {
      const view = await manager.create_view(model);
      await manager.display_view(view, host);
      shown += 1;
    } catch (err) {
      showError(host, `This widget could not be shown: ${err}`);
    }
  }
  return shown;
}

/** Render every saved widget view in the page; resolves to how many were shown. */
export async function renderAll(root: ParentNode = document): Promise<number> {
  addStyle(luminoCss, "wb-embed-lumino-css");
  addStyle(controlsCss, "wb-embed-controls-css");
  if (getComputedStyle(document.documentElement).getPropertyValue("--jp-layout-color0") === "") {
    addStyle(labVariablesCss, "wb-embed-lab-variables");
  }
  let shown = 0;
  for (const tag of Array.from(root.querySelectorAll(`script[type="${STATE}"]`))) {
    try {
      shown += await renderState(root, tag);
    } catch (err) {
      showError(tag.parentElement ?? document.body, `The saved widgets could not be shown: ${err}`);
    }
  }
  return shown;
}

declare global {
  interface Window {
    wbEmbed?: { rendered: Promise<number> };
  }
}

if (!window.wbEmbed) {
  const start = (): Promise<number> => renderAll();
  const rendered =
    document.readyState === "loading"
      ? new Promise<number>((resolve) => document.addEventListener("DOMContentLoaded", () => resolve(start())))
      : start();
  window.wbEmbed = { rendered };
}
