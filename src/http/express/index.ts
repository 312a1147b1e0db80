/**
 * `idemkit/express`: the Idempotency-Key protocol as Express middleware
 * (Express 4 and 5). Mount it after your body parser; without one it reads
 * the raw body itself and leaves it on `req.body` as a `Buffer`.
 *
 * The owner's response goes out live: `res.write()` chunks pass straight
 * through while being recorded (up to `maxResponseBytes`), and the final
 * `res.end()` is held until the record is written, so a retry sent after
 * the answer arrived replays it.
 */
import {
  type NodeHeaders,
  nodeRequestView,
  pickHeaders,
  replyHeaders,
} from "../node-headers.js";
import type { HttpIdempotencyOptions } from "../options.js";
import { type HttpReply, tooLargeReply } from "../problem.js";
import { IdempotencyProtocol, type Step } from "../protocol.js";
import { type ResponseHead, StreamRecorder } from "../recorder.js";

/** The parts of an Express request the middleware reads. */
export interface ExpressRequestLike extends AsyncIterable<unknown> {
  method: string;
  url: string;
  originalUrl?: string | undefined;
  headers: NodeHeaders;
  body?: unknown;
  readableEnded?: boolean | undefined;
}

/** The parts of an Express response the middleware writes or wraps. */
export interface ExpressResponseLike {
  statusCode: number;
  readonly headersSent: boolean;
  getHeader(name: string): unknown;
  setHeader(name: string, value: string | readonly string[]): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: wrapping Node's overloaded writers keeps their arguments as given
  write(...args: any[]): boolean;
  // biome-ignore lint/suspicious/noExplicitAny: as above
  end(...args: any[]): unknown;
  on(event: "close", listener: () => void): unknown;
}

/** Express's `next`. */
export type ExpressNext = (error?: unknown) => void;

/**
 * Express middleware for the Idempotency-Key protocol.
 *
 * @example
 * ```ts
 * import express from "express";
 * import { idempotency } from "idemkit/express";
 * import { MemoryStore } from "idemkit";
 *
 * const app = express();
 * app.use(express.json());
 * app.use(idempotency({ store: new MemoryStore() }));
 * app.post("/orders", (req, res) => res.status(201).json(createOrder(req.body)));
 * ```
 */
export function idempotency(
  options: HttpIdempotencyOptions,
): (req: ExpressRequestLike, res: ExpressResponseLike, next: ExpressNext) => void {
  const protocol = new IdempotencyProtocol(options);
  const { maxBodyBytes, maxResponseBytes, replayHeaders } = protocol.settings;

  const handle = async (
    req: ExpressRequestLike,
    res: ExpressResponseLike,
    next: ExpressNext,
  ): Promise<void> => {
    const view = nodeRequestView(req.method, req.originalUrl ?? req.url, req.headers);
    const inspection = protocol.inspect(view);
    if (inspection.kind === "pass") return next();
    if (inspection.kind === "reply") return send(res, inspection.reply);

    let body = req.body;
    if (body === undefined && req.readableEnded !== true) {
      body = await readBody(req, maxBodyBytes);
      if (body === undefined) return send(res, tooLargeReply(maxBodyBytes));
      req.body = body;
    }

    const step = await protocol.execute(view, inspection.key, body);
    if (step.kind === "pass") return next();
    if (step.kind === "reply") return send(res, step.reply);
    record(res, step, maxResponseBytes, replayHeaders);
    next();
  };

  return (req, res, next) => {
    handle(req, res, next).catch(next);
  };
}

/**
 * Wraps `res.write`/`res.end` to record what the handler sends. Cases:
 * - `res.json()`, `res.send()`, `res.status().end()`: one `end(chunk)`.
 * - streams and SSE: `write()` chunks, then `end()`; recorded up to the limit.
 * - the connection closes mid-stream: recorded as not replayable.
 */
function record(
  res: ExpressResponseLike,
  step: Extract<Step, { kind: "run" }>,
  limit: number,
  replayHeaders: Iterable<string>,
): void {
  const write = res.write;
  const end = res.end;
  const recorder = new StreamRecorder(step, limit);
  const head = (): ResponseHead => ({
    status: res.statusCode,
    headers: pickHeaders(replayHeaders, (name) => res.getHeader(name)),
  });
  const keep = (chunk: unknown, encoding: unknown): void => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return;
    if (recorder.overLimit) return;
    recorder.add(
      typeof chunk === "string"
        ? Buffer.from(
            chunk,
            typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8",
          )
        : Buffer.from(chunk as Uint8Array),
    );
  };

  res.write = function (this: ExpressResponseLike, ...args: unknown[]): boolean {
    keep(args[0], args[1]);
    return write.apply(this, args);
  };
  res.end = function (this: ExpressResponseLike, ...args: unknown[]): unknown {
    keep(args[0], args[1]);
    res.write = write;
    res.end = end;
    const written = recorder.end(head());
    if (written === undefined) end.apply(this, args);
    else written.then(() => end.apply(this, args));
    return this;
  };
  res.on("close", () => {
    // Headers out but no end: the stream was cut. Before the headers, the
    // handler is still working and will call end().
    if (res.headersSent) {
      recorder.cut(head(), "The connection closed before the response ended");
    }
  });
}

/** Reads the raw body up to `limit` bytes; `undefined` when it is longer. */
async function readBody(
  req: AsyncIterable<unknown>,
  limit: number,
): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > limit) return undefined;
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}

function send(res: ExpressResponseLike, reply: HttpReply): void {
  const headers = replyHeaders(reply, (name) => res.getHeader(name));
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("content-length", String(reply.body.length));
  res.end(Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.length));
}
