/**
 * Writing a widget's traits from the page: at once (`delayMs` 0, e.g. a click) or
 * debounced per trait (typing, dragging a slider), with `flush()` to send what is
 * pending before a request that must see it (Run, Search):
 *
 *   const traits = traitWriter(model);
 *   input.addEventListener("input", () => traits.set("prefill", input.value, 300));
 *   runButton.addEventListener("click", () => { traits.flush(); request("start"); });
 */
import type { AnyModel } from "@anywidget/types";

export interface TraitWriter<S> {
  set<K extends keyof S & string>(name: K, value: S[K], delayMs?: number): void;
  /** Send every pending debounced change now. */
  flush(): void;
  /** Whether a change of `name` is waiting for its debounce. */
  pending(name: keyof S & string): boolean;
}

export function traitWriter<S extends object>(model: AnyModel<S>): TraitWriter<S> {
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  return {
    set(name, value, delayMs = 0) {
      model.set(name, value);
      const waiting = timers.get(name);
      if (waiting !== undefined) clearTimeout(waiting);
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
    },
  };
}
