/**
 * Where a record lives in Redis: `prefix + ns + ":" + scope + ":" + key`,
 * each part percent-encoded. Encoded parts hold only `[A-Za-z0-9._~-]` and
 * `%`, so:
 *
 * - the `:` between parts cannot occur inside one: no two ids share a key;
 * - braces are encoded: no input can pick a Redis Cluster hash slot;
 * - glob characters (`*?[]\`) are encoded: a `SCAN MATCH` pattern built
 *   from encoded parts matches exactly the records it names;
 * - nothing can step outside the prefix, which is always the key's head.
 *
 * Code points become their UTF-8 bytes as `%` and two hex digits; a lone UTF-16 surrogate
 * (not valid Unicode, but a legal JavaScript string) becomes `%u` and four hex digits, so
 * the encoding is one-to-one over every string.
 */
import type { RecordId } from "../../core/record.js";

const PLAIN = /^[A-Za-z0-9._~-]*$/;
const PLAIN_CHAR = /[A-Za-z0-9._~-]/;

/** Encodes one part of a key; one-to-one over all JavaScript strings. */
export function encodePart(text: string): string {
  if (PLAIN.test(text)) return text;

  let out = "";
  for (const char of text) {
    if (PLAIN_CHAR.test(char)) {
      out += char;
      continue;
    }
    const code = char.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) {
      out += `%u${code.toString(16).toUpperCase().padStart(4, "0")}`;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

/** Reverses {@link encodePart}; `undefined` for text it never produces. */
export function decodePart(text: string): string | undefined {
  if (PLAIN.test(text)) return text;

  let out = "";
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out += Buffer.from(bytes).toString("utf8");
    bytes = [];
  };
  for (let i = 0; i < text.length; ) {
    const char = text[i] as string;
    if (char !== "%") {
      if (!PLAIN_CHAR.test(char)) return undefined;
      flush();
      out += char;
      i++;
    } else if (text[i + 1] === "u") {
      const hex = text.slice(i + 2, i + 6);
      if (!/^[0-9A-F]{4}$/.test(hex)) return undefined;
      flush();
      out += String.fromCharCode(Number.parseInt(hex, 16));
      i += 6;
    } else {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(Number.parseInt(hex, 16));
      i += 3;
    }
  }
  flush();
  return out;
}

/** The Redis key of a record. */
export function recordKey(prefix: string, id: RecordId): string {
  return `${prefix}${encodePart(id.namespace)}:${encodePart(id.scope)}:${encodePart(id.key)}`;
}

/** The id of a record from its Redis key; `undefined` for a foreign key. */
export function idOfKey(prefix: string, redisKey: string): RecordId | undefined {
  if (!redisKey.startsWith(prefix)) return undefined;
  const parts = redisKey.slice(prefix.length).split(":");
  if (parts.length !== 3) return undefined;

  const [namespace, scope, key] = parts.map(decodePart);
  if (namespace === undefined || scope === undefined || key === undefined) {
    return undefined;
  }
  return { namespace, scope, key };
}

/**
 * A `SCAN MATCH` pattern for the records under `prefix`, narrowed to a
 * namespace and, within it, a scope when given.
 */
export function scanPattern(prefix: string, namespace?: string, scope?: string): string {
  const head = prefix.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
  if (namespace === undefined) return `${head}*`;
  if (scope === undefined) return `${head}${encodePart(namespace)}:*`;
  return `${head}${encodePart(namespace)}:${encodePart(scope)}:*`;
}
