/**
 * The record of a response that goes out while it is produced (Express
 * writes, Fastify stream payloads, Web streaming types). Every adapter
 * passes its chunks through one of these, so they all settle alike:
 *
 * - the response ends: the record holds the body when it fit in the
 *   limit, else a not-replayable marker;
 * - the client leaves first: not replayable (the handler ran);
 * - the handler's stream breaks: the key is given back for a retry.
 *
 * Whichever comes first settles it; later ones change nothing.
 */
import type { CapturedResponse } from "./captured.js";
import type { Step } from "./protocol.js";

/** The status and headers the record keeps. */
export interface ResponseHead {
  readonly status: number;
  readonly headers: CapturedResponse["headers"];
}

export class StreamRecorder {
  readonly #step: Extract<Step, { kind: "run" }>;
  readonly #limit: number;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #settled = false;

  constructor(step: Extract<Step, { kind: "run" }>, limit: number) {
    this.#step = step;
    this.#limit = limit;
  }

  /** True once the body outgrew the limit: later chunks need no copy. */
  get overLimit(): boolean {
    return this.#size > this.#limit;
  }

  /** Copies `bytes` while the body still fits in the limit. */
  add(bytes: Uint8Array): void {
    if (this.overLimit) return;
    this.#size += bytes.length;
    if (this.#size <= this.#limit) this.#chunks.push(bytes);
    else this.#chunks = [];
  }

  /**
   * The response ended; resolves once the record is written, or returns
   * `undefined` when there is nothing to wait for.
   */
  end(head: ResponseHead): Promise<void> | undefined {
    if (this.#settled) return undefined;
    this.#settled = true;
    // Nearly every response fits: its reason text is not built.
    if (this.#size <= this.#limit) {
      return this.#step.finish({ ...head, body: concat(this.#chunks, this.#size) });
    }
    return this.#step.finish({
      ...head,
      body: undefined,
      unavailableReason: `The response body was larger than ${this.#limit} bytes`,
    });
  }

  /** The response was cut short after it started: not replayable. */
  cut(head: ResponseHead, reason: string): void {
    if (this.#settled) return;
    this.#settled = true;
    void this.#step.finish({ ...head, body: undefined, unavailableReason: reason });
  }

  /** The handler's stream failed: the key is free for a retry. */
  broken(error: unknown): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#step.fail(error);
  }
}

/** `chunks` joined into one array of `size` bytes. */
export function concat(chunks: readonly Uint8Array[], size: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
