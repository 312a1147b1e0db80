/**
 * The proxy's own error responses, as `application/problem+json`
 * (RFC 9457), in the shape the HTTP layer uses for its own.
 */
import type { ServerResponse } from "node:http";

/** A problem document. */
export interface Problem {
  readonly status: number;
  readonly title: string;
  readonly detail: string;
}

/** The body of a problem response. */
export function problemBody(problem: Problem): string {
  return JSON.stringify({ type: "about:blank", ...problem });
}

/** A 502 for an upstream that could not be reached or broke off. */
export function badGateway(reason: string): Problem {
  return {
    status: 502,
    title: "Bad Gateway",
    detail: `The upstream could not be reached: ${reason}`,
  };
}

/** Writes a problem on a Node response, if headers were not sent yet. */
export function sendProblem(res: ServerResponse, problem: Problem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = problemBody(problem);
  res.writeHead(problem.status, {
    "content-type": "application/problem+json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}
