/**
 * Safe DOM building. Model text is untrusted: it is only ever set with
 * `textContent`. Nothing in the workbench's front-ends uses innerHTML.
 */

export interface Props {
  /** CSS class names, space separated. */
  class?: string;
  /** Text content, set with `textContent` (never parsed as HTML). */
  text?: string;
  /** Tooltip, set as the `title` attribute. */
  title?: string;
  /** Other attributes; event-handler attributes (`on*`) are refused. */
  attrs?: Record<string, string | number | boolean>;
  /** Inline style properties, e.g. `{ background: "rgb(...)" }`. */
  style?: Partial<Record<string, string>>;
}

type Child = Node | string | null | undefined | false;

/** Create an element: `h("span", { class: "tok", text: token }, [children])`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  children: Child[] = [],
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  if (props.title !== undefined) el.title = props.title;
  for (const [name, value] of Object.entries(props.attrs ?? {})) {
    if (/^on/i.test(name) || /^(srcdoc)$/i.test(name)) {
      throw new Error(`h: refusing to set attribute ${name}; attach listeners with addEventListener`);
    }
    if (value === false) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [name, value] of Object.entries(props.style ?? {})) {
    if (value !== undefined) el.style.setProperty(name, value);
  }
  append(el, children);
  return el;
}

/** Append children; strings become text nodes. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replace an element's content with text. */
export function setText(el: Element, text: string): void {
  el.textContent = text;
}

/** Remove all children. */
export function clear(el: Element): void {
  el.replaceChildren();
}

/** Make whitespace and control characters of a token visible (for token displays). */
export function visibleToken(text: string): string {
  return text.replace(/\n/g, "\u21b5").replace(/\t/g, "\u21e5").replace(/ /g, "\u00b7");
}

/**
 * Show an error inside the widget (class `wb-error`, with `role="alert"`): errors say
 * what went wrong where the user is looking, not in the kernel log.
 */
export function showError(el: Element, error: unknown): HTMLElement {
  const message =
    error instanceof Error ? (error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message) : String(error);
  let box = el.querySelector<HTMLElement>(":scope > .wb-error");
  if (box === null) {
    box = h("div", { class: "wb-error", attrs: { role: "alert" } });
    el.appendChild(box);
  }
  box.textContent = message;
  return box;
}

/** Remove an error shown by `showError`. */
export function clearError(el: Element): void {
  el.querySelector(":scope > .wb-error")?.remove();
}

/** Show `message` with `showError`, or remove the shown error when it is empty (an `error` trait). */
export function syncError(el: Element, message: string): void {
  if (message) showError(el, message);
  else clearError(el);
}
