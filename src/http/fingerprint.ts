/**
 * The request fingerprint and the default scope.
 *
 * The fingerprint is method + path + query + a hash of the body. A JSON
 * body is parsed and hashed canonically, so `{"a":1,"b":2}` and
 * `{"b":2,"a":1}` are the same request; any other body is hashed as bytes.
 * Frameworks that parsed the body already pass the parsed value, which
 * hashes to the same fingerprint as its bytes would. Form fields a framework
 * parsed are hashed as their parsed value too.
 */
import { hashValue } from "../core/canonical.js";
import type { HttpSettings, RequestView } from "./options.js";

const decoder = new TextDecoder();

/**
 * The fingerprint of a request under `settings`.
 *
 * @example
 * ```ts
 * requestFingerprint(view, bodyBytes, settings); // 64 hex characters
 * ```
 */
export function requestFingerprint(
  request: RequestView,
  body: unknown,
  settings: HttpSettings,
): string {
  if (settings.fingerprint !== undefined) return settings.fingerprint(request, body);

  // One canonical hash over everything; the body part is tagged so a JSON
  // value and raw bytes can never hash alike.
  const parts: unknown[] = [request.method, request.url, bodyPart(body, request)];
  for (const name of settings.fingerprintHeaders)
    parts.push(request.header(name) ?? null);
  return hashValue(parts);
}

/**
 * The default scope: a hash of the `Authorization` header and of the
 * configured cookie, or `""` for an anonymous request. Only the hash is
 * stored, never the credential.
 *
 * @example
 * ```ts
 * defaultScope(view, settings); // "a1b2…" or ""
 * ```
 */
export function defaultScope(request: RequestView, settings: HttpSettings): string {
  const authorization = request.header("authorization");
  const cookie =
    settings.scopeCookie === undefined
      ? undefined
      : readCookie(request.header("cookie"), settings.scopeCookie);
  if (authorization === undefined && cookie === undefined) return "";

  return hashValue(["scope", authorization ?? null, cookie ?? null]);
}

function bodyPart(body: unknown, request: RequestView): unknown {
  if (body === undefined || body === null) return ["none"];
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  if (!(bytes instanceof Uint8Array)) return ["json", body]; // parsed by a framework
  if (bytes.length === 0) return ["none"];

  const type = request.header("content-type");
  if (type !== undefined && isJson(type)) {
    try {
      return ["json", JSON.parse(decoder.decode(bytes))];
    } catch {
      // Not valid JSON after all: the bytes decide.
    }
  }
  return ["bytes", bytes];
}

function isJson(contentType: string): boolean {
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
