/**
 * The protocol on Web `Request`/`Response`: `withIdempotency()` for any
 * runtime with the Fetch API (Hono, Next.js route handlers, Bun, Deno),
 * plus the pieces the Hono adapter reuses.
 */
import type { HttpIdempotencyOptions, RequestView } from "./options.js";
import { type HttpReply, tooLargeReply } from "./problem.js";
import { IdempotencyProtocol, type Step } from "./protocol.js";
import { concat, type ResponseHead, StreamRecorder } from "./recorder.js";

/** A handler over Web requests and responses. */
export type WebHandler = (request: Request) => Response | Promise<Response>;

// Statuses whose responses must not carry a body.
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Wraps a Web handler with the Idempotency-Key protocol.
 *
 * @example
 * ```ts
 * import { withIdempotency } from "idemkit/http";
 * import { MemoryStore } from "idemkit";
 *
 * export const POST = withIdempotency(
 *   async (req) => Response.json(await createOrder(await req.json()), { status: 201 }),
 *   { store: new MemoryStore() },
 * );
 * ```
 */
export function withIdempotency(
  handler: WebHandler,
  options: HttpIdempotencyOptions,
): (request: Request) => Promise<Response> {
  const protocol = new IdempotencyProtocol(options);
  const { maxBodyBytes } = protocol.settings;

  return async (request) => {
    const view = webRequestView(request);
    const inspection = protocol.inspect(view);
    if (inspection.kind === "pass") return handler(request);
    if (inspection.kind === "reply") return toWebResponse(inspection.reply);

    const body = await readLimited(request.body, maxBodyBytes);
    if (body === undefined) return toWebResponse(tooLargeReply(maxBodyBytes));
    const step = await protocol.execute(view, inspection.key, body);
    if (step.kind === "pass") return handler(request);
    if (step.kind === "reply") return toWebResponse(step.reply);

    let response: Response;
    try {
      // The body was read to hash it; the handler gets a fresh request with
      // the bytes. It is built from the parts, not from `request`, whose
      // body stream is used up (even when it turned out to be empty).
      const copy = new Request(request.url, {
        method: request.method,
        headers: request.headers,
        body: body.length > 0 ? asBody(body) : null,
        signal: request.signal,
      });
      response = await handler(copy);
    } catch (error) {
      step.fail(error);
      throw error;
    }
    return captureWebResponse(response, step, protocol.settings.maxResponseBytes);
  };
}

/**
 * Records the owner's response and returns the one to send.
 *
 * - A body that ends within `limit` is buffered, stored, then sent.
 * - A longer one goes out as a stream once the limit is passed, recorded as
 *   not replayable.
 * - A streaming type (event stream, NDJSON, JSON lines, multipart replace)
 *   goes out chunk by chunk as it is produced, copied on the way while it
 *   fits in `limit`; its end waits for the record, which holds the whole
 *   body when it fit and a not-replayable marker when it did not.
 */
export async function captureWebResponse(
  response: Response,
  step: Extract<Step, { kind: "run" }>,
  limit: number,
): Promise<Response> {
  const { status, statusText } = response;
  const headers = headerPairs(response.headers);
  const stream = response.body;
  const type = response.headers.get("content-type") ?? "";

  if (stream === null) {
    await step.finish({ status, headers, body: new Uint8Array(0) });
    return response;
  }
  if (isStreamingType(type)) {
    const head = { status, headers };
    return new Response(recordingStream(stream, step, head, limit), response);
  }

  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let read: ReadableStreamReadResult<Uint8Array>;
    try {
      read = await reader.read();
    } catch (error) {
      step.fail(error);
      throw error;
    }
    const { done, value } = read;
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > limit) {
      await step.finish({
        status,
        headers,
        body: undefined,
        unavailableReason: `The response body was larger than ${limit} bytes`,
      });
      return new Response(resume(chunks, reader), response);
    }
  }

  const body = concat(chunks, size);
  await step.finish({ status, headers, body });
  return new Response(NULL_BODY.has(status) ? null : asBody(body), {
    status,
    statusText,
    headers: response.headers,
  });
}

/**
 * A framework-free reply as a Web `Response`; each call builds a new one.
 *
 * @example
 * ```ts
 * return toWebResponse(step.reply);
 * ```
 */
export function toWebResponse(reply: HttpReply): Response {
  const headers = new Headers();
  for (const [name, value] of reply.headers) headers.append(name, value);
  const empty = reply.body.length === 0 || NULL_BODY.has(reply.status);
  const body = empty ? null : asBody(reply.body);
  return new Response(body, { status: reply.status, headers });
}

/** The protocol's view of a Web request. */
export function webRequestView(request: Request): RequestView {
  const url = new URL(request.url);
  return {
    method: request.method.toUpperCase(),
    url: url.pathname + url.search,
    header: (name) => request.headers.get(name) ?? undefined,
  };
}

/** Reads a body up to `limit` bytes; `undefined` when it is longer. */
export async function readLimited(
  stream: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | undefined> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return concat(chunks, size);
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

// Media types whose bodies are meant to reach the client as they are
// produced, so they are never held back for the record.
const STREAMING_TYPES = [
  "text/event-stream",
  "application/x-ndjson",
  "application/ndjson",
  "application/jsonl",
  "application/x-jsonlines",
  "application/stream+json",
  "multipart/x-mixed-replace",
];

function isStreamingType(contentType: string): boolean {
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return STREAMING_TYPES.includes(type);
}

/**
 * The owner's streamed body, passed on chunk by chunk through a recorder;
 * its end waits for the record.
 */
function recordingStream(
  source: ReadableStream<Uint8Array>,
  step: Extract<Step, { kind: "run" }>,
  head: ResponseHead,
  limit: number,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const recorder = new StreamRecorder(step, limit);

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (error) {
        recorder.broken(error);
        controller.error(error);
        return;
      }
      if (read.done) {
        await recorder.end(head);
        controller.close();
        return;
      }
      recorder.add(read.value);
      controller.enqueue(read.value);
    },
    cancel(reason) {
      recorder.cut(head, "The client left before the response ended");
      return reader.cancel(reason);
    },
  });
}

function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => {
    pairs.push([name, value]);
  });
  return pairs;
}

// The DOM typings want bytes over a plain ArrayBuffer; ours may sit on a
// Node Buffer pool, which the runtime accepts all the same.
function asBody(bytes: Uint8Array): BodyInit {
  return bytes as Uint8Array<ArrayBuffer>;
}

/** The chunks read so far, then the rest of the reader. */
function resume(
  head: Uint8Array[],
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i < head.length) {
        controller.enqueue(head[i++]!);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
