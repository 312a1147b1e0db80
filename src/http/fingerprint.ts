/**
 * The request fingerprint and the default scope.
 *
 * The fingerprint is method + path + query + a hash of the body. A JSON
 * body is parsed and hashed canonically, so `{"a":1,"b":2}` and
 * `{"b":2,"a":1}` are the same request; any other body is hashed as bytes.
 * Frameworks that parsed the body already pass the parsed value, which
 * hashes to the same fingerprint as its bytes would.
 */
import { createHash } from "node:crypto";
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

  const hash = createHash("sha256");
  hash.update(`${request.method}\n${request.url}\n`);
  for (const name of settings.fingerprintHeaders) {
    hash.update(`${name}:${request.header(name) ?? ""}\n`);
  }
  hash.update(bodyDigest(body, request.header("content-type")));
  return hash.digest("hex");
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

  return createHash("sha256")
    .update(`${authorization ?? ""}\n${cookie ?? ""}`)
    .digest("base64url");
}

function bodyDigest(body: unknown, contentType: string | undefined): string {
  if (body === undefined || body === null) return "none";
  if (typeof body === "string")
    return bytesOrJson(new TextEncoder().encode(body), contentType);
  if (body instanceof Uint8Array) return bytesOrJson(body, contentType);
  // A value a framework parsed (JSON, form fields).
  return `json:${hashValue(body)}`;
}

function bytesOrJson(bytes: Uint8Array, contentType: string | undefined): string {
  if (bytes.length === 0) return "none";
  if (contentType !== undefined && isJson(contentType)) {
    try {
      return `json:${hashValue(JSON.parse(decoder.decode(bytes)))}`;
    } catch {
      // Not valid JSON after all: fall back to the bytes.
    }
  }
  return `bytes:${createHash("sha256").update(bytes).digest("hex")}`;
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
