/**
 * Header rules of a reverse proxy: hop-by-hop headers stay on their own
 * connection (RFC 9110 §7.6.1), and the upstream learns who the client was
 * through `X-Forwarded-For`, `-Host` and `-Proto`.
 */
import type {
  IncomingHttpHeaders,
  IncomingMessage,
  OutgoingHttpHeaders,
} from "node:http";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** Header names that must not be forwarded, including those `Connection` lists. */
function hopByHop(headers: IncomingHttpHeaders): Set<string> {
  const names = new Set(HOP_BY_HOP);
  const connection = headers.connection;
  if (typeof connection === "string") {
    for (const name of connection.split(",")) names.add(name.trim().toLowerCase());
  }
  return names;
}

/**
 * Copies end-to-end headers only (either direction).
 *
 * @example
 * ```ts
 * res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
 * ```
 */
export function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const skip = hopByHop(headers);
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !skip.has(name)) out[name] = value;
  }
  return out;
}

/**
 * The headers sent upstream: end-to-end headers of the client's request,
 * `Host` set to the upstream's, and the `X-Forwarded-*` trio (an existing
 * `X-Forwarded-For` chain is extended, not replaced).
 */
export function upstreamHeaders(
  req: IncomingMessage,
  upstreamHost: string,
): OutgoingHttpHeaders {
  const headers = endToEnd(req.headers);
  const client = req.socket.remoteAddress ?? "";
  const prior = req.headers["x-forwarded-for"];
  const chain = Array.isArray(prior) ? prior.join(", ") : prior;

  headers.host = upstreamHost;
  headers["x-forwarded-for"] = chain ? `${chain}, ${client}` : client;
  headers["x-forwarded-host"] = req.headers["x-forwarded-host"] ?? req.headers.host ?? "";
  headers["x-forwarded-proto"] =
    req.headers["x-forwarded-proto"] ??
    ((req.socket as { encrypted?: boolean }).encrypted ? "https" : "http");
  return headers;
}
