/**
 * The idempotency path of the proxy, on Node's own request and response
 * objects, driven by `IdempotencyProtocol` from `idemkit/http` (the same
 * protocol object every framework adapter uses), so the proxy has no
 * protocol logic of its own and pays for no Web `Request`/`Response`
 * objects.
 *
 * Per request:
 * 1. `inspect()` on method and headers: `pass` → streamed pass-through,
 *    `reply` → a problem (missing or invalid key, declared body too large);
 * 2. the body is read (within the limit) and `execute()` claims the key:
 *    `reply` → a replay, 409, or 422; `run` → this request owns the key;
 * 3. the owner forwards once, reads the upstream's answer and calls
 *    `finish()`, which resolves once the record is written; only then does
 *    the answer go out, so a retry sent after it arrived replays it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { nodeRequestView } from "../../http/node-headers.js";
import { type HttpReply, tooLargeReply } from "../../http/problem.js";
import type { IdempotencyProtocol, Step } from "../../http/protocol.js";
import { readAll, readWithin } from "./bridge.js";
import { upstreamHeaders } from "./headers.js";
import { badGateway, problemBody } from "./problem.js";
import type { Upstream, UpstreamResponse } from "./upstream.js";

/**
 * Runs one request through the protocol; resolves when the answer is sent.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => void handleIdempotent(protocol, upstream, req, res));
 * ```
 */
export async function handleIdempotent(
  protocol: IdempotencyProtocol,
  upstream: Upstream,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { maxBodyBytes } = protocol.settings;
  const view = nodeRequestView(req.method ?? "POST", req.url ?? "/", req.headers);
  const inspection = protocol.inspect(view);
  if (inspection.kind === "pass") return upstream.passThrough(req, res);
  if (inspection.kind === "reply") return sendReply(req, res, inspection.reply);

  const body = await readAll(req, maxBodyBytes);
  if (body === undefined) return sendReply(req, res, tooLargeReply(maxBodyBytes));
  const step = await protocol.execute(view, inspection.key, body);
  if (step.kind === "reply") return sendReply(req, res, step.reply);

  let answer: UpstreamResponse;
  try {
    answer = await upstream.send({
      method: req.method ?? "POST",
      path: req.url ?? "/",
      headers: upstreamHeaders(req, upstream.host),
      body,
    });
  } catch (error) {
    return sendBadGateway(res, step, error);
  }
  if (step.kind === "pass") return sendAnswer(res, answer);
  try {
    await sendRecorded(res, step, answer, protocol.settings.maxResponseBytes);
  } catch (error) {
    // The upstream broke off mid-body (or the client went away before the
    // record was written): the key becomes free for a retry instead of
    // staying claimed, with its lease renewed, for as long as this runs.
    step.fail(error);
    throw error;
  }
}

/**
 * The owner's answer: read within `limit`, recorded, then sent. A longer
 * body is recorded as not replayable and streamed on.
 */
async function sendRecorded(
  res: ServerResponse,
  step: Extract<Step, { kind: "run" }>,
  answer: UpstreamResponse,
  limit: number,
): Promise<void> {
  const headers = Object.entries(answer.headers).filter(
    (pair): pair is [string, string | number | string[]] => pair[1] !== undefined,
  );
  const read = await readWithin(answer.body, limit);
  if (read.overflow) {
    await step.finish({
      status: answer.status,
      headers,
      body: undefined,
      unavailableReason: `The response body was larger than ${limit} bytes`,
    });
    res.writeHead(answer.status, answer.headers);
    for (const head of read.chunks) res.write(head);
    await new Promise<void>((resolve, reject) => {
      answer.body.once("error", reject);
      answer.body.once("end", resolve);
      answer.body.pipe(res);
    });
    return;
  }

  await step.finish({ status: answer.status, headers, body: read.body });
  res.writeHead(answer.status, { ...answer.headers, "content-length": read.body.length });
  res.end(read.body);
}

/** An answer that is not recorded (the protocol said `pass`). */
function sendAnswer(res: ServerResponse, answer: UpstreamResponse): void {
  res.writeHead(answer.status, answer.headers);
  answer.body.pipe(res);
}

/**
 * The upstream could not be reached. The 502 is given to the protocol like
 * any answer: 5xx responses are never stored, so the key is free for the
 * client's retry.
 */
async function sendBadGateway(
  res: ServerResponse,
  step: Step,
  error: unknown,
): Promise<void> {
  const reason =
    error instanceof Error
      ? error.message || String((error as { code?: string }).code)
      : String(error);
  const body = Buffer.from(problemBody(badGateway(reason)));
  const headers = { "content-type": "application/problem+json" };
  if (step.kind === "run") {
    await step.finish({ status: 502, headers: Object.entries(headers), body });
  }
  res.writeHead(502, { ...headers, "content-length": body.length });
  res.end(body);
}

/** Writes a protocol reply (replay or problem); an unread body is drained. */
function sendReply(req: IncomingMessage, res: ServerResponse, reply: HttpReply): void {
  if (!req.readableEnded) req.resume();
  // Node takes headers as one flat name/value list, repeated names allowed:
  // no object to build, nothing to merge.
  const flat: string[] = [];
  for (const [name, value] of reply.headers) flat.push(name, value);
  flat.push("content-length", String(reply.body.length));
  res.writeHead(reply.status, flat);
  res.end(Buffer.from(reply.body.buffer, reply.body.byteOffset, reply.body.length));
}
