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

/**
 * Header names that must not be forwarded beyond the fixed ones: those the
 * `Connection` header lists (RFC 9110 §7.6.1), or `undefined` when it lists
 * none but the usual `keep-alive`/`close`, which is nearly every request.
 */
function listedByConnection(headers: IncomingHttpHeaders): Set<string> | undefined {
  const connection = headers.connection;
  if (typeof connection !== "string") return undefined;
  let listed: Set<string> | undefined;
  for (const raw of connection.split(",")) {
    const name = raw.trim().toLowerCase();
    if (name === "" || name === "close" || HOP_BY_HOP.has(name)) continue;
    listed ??= new Set();
    listed.add(name);
  }
  return listed;
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
  const listed = listedByConnection(headers);
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
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
