/**
 * Node's `http` objects ↔ Web `Request`/`Response`, for the requests that
 * go through the HTTP layer (which speaks the Web API).
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { upstreamHeaders } from "./headers.js";

/**
 * A Web `Request` for a Node request. Its headers are already the ones the
 * upstream will get (hop-by-hop removed, `X-Forwarded-*` added), so the
 * handler behind the HTTP layer forwards them as they are.
 */
export function toWebRequest(req: IncomingMessage, upstreamHost: string): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(upstreamHeaders(req, upstreamHost))) {
    if (value === undefined || name === "host") continue;
    if (Array.isArray(value)) for (const item of value) headers.append(name, item);
    else headers.set(name, String(value));
  }
  const method = req.method ?? "GET";
  // HTTP/1.1 framing: without Transfer-Encoding or a non-zero
  // Content-Length a request has no body, and a Request without one is
  // cheaper for every layer behind this.
  const length = req.headers["content-length"];
  const hasBody =
    method !== "GET" &&
    method !== "HEAD" &&
    (req.headers["transfer-encoding"] !== undefined ||
      (length !== undefined && length !== "0"));
  const host = /^[\w.:[\]-]+$/.test(req.headers.host ?? "")
    ? req.headers.host
    : "localhost";

  if (!hasBody) req.resume();

  return new Request(`http://${host}${req.url ?? "/"}`, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as ReadableStream<Uint8Array>) : null,
    duplex: "half",
  } as RequestInit);
}

/** What {@link readWithin} read: the whole body, or the start of a longer one. */
export type ReadWithin =
  | { readonly overflow: false; readonly body: Buffer }
  | { readonly overflow: true; readonly chunks: readonly Buffer[] };

/**
 * Reads a Node stream to its end, at most `limit` bytes. Past the limit it
 * pauses the stream and hands back what it read, the chunk that crossed the
 * limit included, so the caller can stream the rest on. Listeners rather
 * than `for await`: the async iterator costs a promise per chunk and a
 * stream wrapper per call, and most bodies are one chunk.
 * @internal
 */
export function readWithin(stream: Readable, limit: number): Promise<ReadWithin> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      chunks.push(chunk);
      if (size <= limit) return;
      stream.pause();
      done();
      resolve({ overflow: true, chunks });
    };
    const onEnd = (): void => {
      done();
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      resolve({ overflow: false, body });
    };
    const onError = (error: Error): void => {
      done();
      reject(error);
    };
    // A peer that hangs up mid-body ends neither with `end` nor `error`.
    const onClose = (): void => {
      done();
      reject(new Error("The connection closed before the body ended"));
    };
    const done = (): void => {
      stream.off("data", onData);
      stream.off("end", onEnd);
      stream.off("error", onError);
      stream.off("close", onClose);
    };
    stream.on("data", onData);
    stream.on("end", onEnd);
    stream.on("error", onError);
    stream.on("close", onClose);
  });
}

/**
 * Reads a Node stream to its end, at most `limit` bytes; `undefined` when
 * it is longer (the rest is then left unread).
 * @internal
 */
export async function readAll(
  stream: Readable,
  limit: number,
): Promise<Buffer | undefined> {
  const read = await readWithin(stream, limit);
  return read.overflow ? undefined : read.body;
}

/** Headers of a Web `Headers` object as Node outgoing headers. */
export function nodeHeaders(headers: Headers): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  headers.forEach((value, name) => {
    if (name !== "set-cookie") out[name] = value;
  });
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  return out;
}

/** Writes a Web `Response` on a Node response, streaming its body. */
export async function sendWebResponse(
  res: ServerResponse,
  response: Response,
): Promise<void> {
  res.writeHead(
    response.status,
    response.statusText || undefined,
    nodeHeaders(response.headers),
  );
  if (response.body === null) {
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), res);
}
