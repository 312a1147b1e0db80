/**
 * The handler the HTTP layer wraps on the idempotency path: it forwards a
 * Web `Request` (body already read by the layer, within its size limit) to
 * the upstream and answers with the upstream's response, streamed.
 */
import type { OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";
import { badGateway, type Problem, problemBody } from "./problem.js";
import type { Upstream } from "./upstream.js";

/** A Web handler: what the HTTP layer wraps and what the proxy calls. */
export type WebHandler = (request: Request) => Promise<Response>;

/** A problem as a Web `Response`. */
export function problemResponse(problem: Problem): Response {
  return new Response(problemBody(problem), {
    status: problem.status,
    headers: { "content-type": "application/problem+json" },
  });
}

function webHeaders(headers: OutgoingHttpHeaders): Headers {
  const out = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) out.append(name, item);
    else out.set(name, String(value));
  }
  return out;
}

/**
 * Forwards to `upstream`. An unreachable upstream answers 502, which the
 * HTTP layer never stores, so a retry goes to the upstream again.
 */
export function forwardTo(upstream: Upstream): WebHandler {
  return async (request) => {
    const url = new URL(request.url);
    const body =
      request.body === null ? undefined : new Uint8Array(await request.arrayBuffer());
    const headers: OutgoingHttpHeaders = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });

    let answer: Awaited<ReturnType<Upstream["send"]>>;
    try {
      answer = await upstream.send({
        method: request.method,
        path: `${url.pathname}${url.search}`,
        headers,
        body,
      });
    } catch (error) {
      const reason =
        error instanceof Error
          ? error.message || String((error as { code?: string }).code)
          : String(error);
      return problemResponse(badGateway(reason));
    }

    const empty =
      request.method === "HEAD" || answer.status === 204 || answer.status === 304;
    if (empty) answer.body.resume();
    return new Response(
      empty ? null : (Readable.toWeb(answer.body) as ReadableStream<Uint8Array>),
      {
        status: answer.status,
        headers: webHeaders(answer.headers),
      },
    );
  };
}
