/**
 * The shell every workbench front-end shares.
 *
 *   const request = createRequester(model, { timeoutMs: 600_000 });
 *   const traits = traitWriter(model);
 *   const run = runControls(model, root, request, { start: [go], progress: "running" });
 *   go.addEventListener("click", () => act(root, () => { traits.flush(); return request("start"); }));
 *   return mount(model, el, root, { on: { results: drawResults }, draw: [drawResults], run, request, traits });
 *
 * `act` is a user action whose error is shown in the panel (not lost in the kernel
 * log); `runControls` are the Cancel button, progress bar and status line of a panel
 * that runs long work in the kernel (traits `running`, `progress`, `status`); `mount`
 * registers the `change:*` listeners, draws the panel once, shows it and returns the
 * teardown that anywidget's `render` returns. The look is in one stylesheet,
 * `widgets_js/src/workbench.css`, which every widget receives as anywidget's `_css`.
 */
import type { AnyModel } from "@anywidget/types";
import { clearError, h, showError, syncError } from "./dom";
import type { Requester } from "./rpc";
import type { TraitWriter } from "./traits";

/**
 * Run a user action of the panel `root`: clear the error it shows, await `fn`, and
 * show anything it throws with `showError`. Resolves to whether `fn` succeeded.
 */
export async function act(root: Element, fn: () => unknown): Promise<boolean> {
  clearError(root);
  try {
    await fn();
    return true;
  } catch (err) {
    showError(root, err);
    return false;
  }
}

/**
 * A button that hands something to another place (a panel, a notebook variable):
 * it reads "…" while `send` runs, then `done(reply)` (by default its own label with
 * a check mark), or its label again when `send` fails (the error shown in `root`).
 */
export function sendButton<T>(
  root: Element,
  props: { class: string; text: string; title?: string },
  send: () => Promise<T>,
  done: (reply: T) => string = () => `${props.text} ✓`,
): HTMLButtonElement {
  const button = h("button", props);
  button.addEventListener("click", () =>
    act(root, async () => {
      button.textContent = "…";
      try {
        button.textContent = done(await send());
      } catch (err) {
        button.textContent = props.text;
        throw err;
      }
    }),
  );
  return button;
}

export interface Progress {
  step: number;
  total: number;
}

/** The traits of a panel that runs long work in the kernel (see workbench/widgets/_runs.py). */
export interface RunTraits {
  running: boolean;
  status: string;
  progress?: Progress;
}

export interface RunOptions {
  /** Buttons that start work: disabled while it runs. */
  start?: HTMLButtonElement[];
  /** A progress bar of the `progress` trait, always shown or only while running; none by default. */
  progress?: "always" | "running";
  /** The status line while running (the `status` trait otherwise), e.g. `sampling… 3/40 tokens`. */
  busy?: (progress: Progress) => string;
}

export interface RunControls {
  cancel: HTMLButtonElement;
  progress: HTMLProgressElement | null;
  status: HTMLSpanElement;
  /** Cancel, the progress bar (if any) and the status line, in that order, to put in a row. */
  elements: HTMLElement[];
  /** The traits whose changes `draw` shows (`mount` listens to them). */
  traits: ("running" | "status" | "progress")[];
  /** Show the run state: start buttons off and Cancel on while running, the progress, the status. */
  draw(): void;
}

/** The Cancel button (request `stop`), progress bar and status line of a panel's runs. */
export function runControls<S extends RunTraits>(
  model: AnyModel<S>,
  root: Element,
  request: Requester,
  options: RunOptions = {},
): RunControls {
  const cancel = h("button", { class: "wb-cancel", text: "Cancel", attrs: { disabled: true } });
  const progress = options.progress ? h("progress", { class: "wb-progress", attrs: { max: 1, value: 0 } }) : null;
  const status = h("span", { class: "wb-status wb-muted" });
  cancel.addEventListener("click", () =>
    act(root, async () => {
      await request("stop");
      if (model.get("running")) status.textContent = "cancelling…";
    }),
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
    draw,
  };
}

/** What each trait's change redraws: `{ results: drawResults, mode: [drawMode, drawResults] }`. */
export type Changes<S> = { [K in keyof S & string]?: (() => void) | (() => void)[] };

export interface MountOptions<S extends object> {
  /** The `change:<trait>` listeners. */
  on?: Changes<S>;
  /** Drawn once, in order, before the panel is shown. */
  draw?: (() => void)[];
  /** Run controls: drawn on each change of their traits, and once. */
  run?: RunControls;
  /** Disposed at teardown (requests still waiting are rejected). */
  request?: Requester;
  /** Flushed at teardown, so that a debounced edit is not lost. */
  traits?: TraitWriter<S>;
  /** More to undo at teardown. */
  teardown?: (() => void)[];
}

/**
 * Show the panel `root` in `el`: register the listeners (the `error` trait is shown
 * with `syncError`), draw it once, append it, and return the teardown for
 * anywidget's `render` (flush pending trait writes, dispose the requester, remove
 * every listener).
 */
export function mount<S extends { error: string }>(
  model: AnyModel<S>,
  el: HTMLElement,
  root: HTMLElement,
  options: MountOptions<S> = {},
): () => void {
  const showTraitError = () => syncError(root, model.get("error"));
  const listeners: [string, () => void][] = [];
  for (const [trait, fns] of Object.entries(options.on ?? {}) as [string, (() => void) | (() => void)[]][]) {
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
