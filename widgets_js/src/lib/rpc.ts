/**
 * Requests to the kernel: the front-end half of workbench/widgets/_base.py.
 *
 *   const request = createRequester(model);
 *   const reply = await request<{ values: Payload }>("top_features", { token: 3 });
 *   const { data, shape } = decode(reply.values);
 *
 * Typed arrays and payloads anywhere in `args` travel as binary buffers. A Python
 * exception in the handler rejects the promise with a `RequestError` whose name is the
 * Python exception type, ready for `showError`.
 */
import type { AnyModel } from "@anywidget/types";
import { type BufferPath, encode, pack, type TypedArray, unpack } from "./buffers";

export class RequestError extends Error {
  constructor(type: string, message: string) {
    super(message);
    this.name = type;
  }
}

interface Response {
  kind: "wb:response";
  id: string;
  ok: boolean;
  result?: unknown;
  buffer_paths?: BufferPath[];
  error?: { type: string; message: string };
}

export interface Requester {
  <T = unknown>(method: string, args?: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T>;
  /** Stop listening and reject the requests still waiting. */
  dispose(): void;
}

let counter = 0;

function typedArraysToPayloads(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return encode(value as TypedArray);
  }
  if (Array.isArray(value)) return value.map(typedArraysToPayloads);
  if (value !== null && typeof value === "object" && !(value instanceof DataView) && !(value instanceof ArrayBuffer)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typedArraysToPayloads(v)]));
  }
  return value;
}

/** A function that sends requests over `model` and resolves with the replies. */
export function createRequester(model: AnyModel, defaults: { timeoutMs?: number } = {}): Requester {
  const prefix = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-`;
  const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> }>();

  const onMessage = (msg: unknown, buffers: DataView[] = []) => {
    const m = msg as Response;
    if (m === null || typeof m !== "object" || m.kind !== "wb:response") return;
    const entry = pending.get(m.id);
    if (entry === undefined) return; // another view's request
    pending.delete(m.id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (m.ok) {
      try {
        entry.resolve(unpack(m.result, m.buffer_paths ?? [], buffers ?? []));
      } catch (e) {
        entry.reject(e as Error);
      }
    } else {
      entry.reject(new RequestError(m.error?.type ?? "Error", m.error?.message ?? "the request failed"));
    }
  };
  model.on("msg:custom", onMessage);

  const request = (<T>(method: string, args: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = prefix + String(++counter);
      const { content, bufferPaths, buffers } = pack(typedArraysToPayloads(args));
      const timeoutMs = options.timeoutMs ?? defaults.timeoutMs;
      const entry: { resolve: (v: unknown) => void; reject: (e: Error) => void; timer?: ReturnType<typeof setTimeout> } = {
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      if (timeoutMs !== undefined) {
        entry.timer = setTimeout(() => {
          pending.delete(id);
          reject(new RequestError("TimeoutError", `no reply to ${method} within ${timeoutMs} ms; is the kernel busy or dead?`));
        }, timeoutMs);
      }
      pending.set(id, entry);
      model.send({ kind: "wb:request", id, method, args: content, buffer_paths: bufferPaths }, undefined, buffers);
    })) as Requester;

  request.dispose = () => {
    model.off("msg:custom", onMessage);
    for (const [id, entry] of pending) {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      entry.reject(new RequestError("AbortError", `request ${id} abandoned: the view was removed`));
    }
    pending.clear();
  };
  return request;
}
