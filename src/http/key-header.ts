/**
 * The `Idempotency-Key` header value. The draft standard makes it a
 * Structured Field string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`); many
 * clients send the bare value, as Stripe accepts, so a bare token is taken
 * too. Parameters after the string are refused rather than ignored: a key
 * with extra syntax is more likely a client bug than a feature.
 *
 * Two headers with the name arrive joined by `", "` (Node and the Fetch API
 * both join repeated fields so), which neither form accepts, so a duplicated
 * header is refused as well.
 */

/** The header's name, as sent. */
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

/** Longest key accepted, in characters. */
const MAX_LENGTH = 255;

/** A parsed header: the key, or why the value was refused. */
export type ParsedKey =
  | { readonly ok: true; readonly key: string }
  | { readonly ok: false; readonly reason: string };

// Visible ASCII without the characters that delimit structured fields or
// lists (quote, comma, semicolon, backslash), so a bare key cannot be
// confused with a list of two keys or a key with parameters.
const BARE_KEY = /^[!#-+\--:<-[\]-~]+$/;

/**
 * Parses an `Idempotency-Key` header value. Never throws.
 *
 * @example
 * ```ts
 * parseIdempotencyKey('"order-42"'); // { ok: true, key: "order-42" }
 * parseIdempotencyKey("order-42");   // { ok: true, key: "order-42" }
 * parseIdempotencyKey('"a", "b"');   // { ok: false, reason: "…" }
 * ```
 */
export function parseIdempotencyKey(value: string): ParsedKey {
  const text = trimOws(value);
  if (text.length === 0) return refuse("The Idempotency-Key header is empty");

  const key = text.charCodeAt(0) === 0x22 ? parseString(text) : parseBare(text);
  if (typeof key !== "string") return key;
  if (key.length === 0) return refuse("The idempotency key is empty");
  if (key.length > MAX_LENGTH) {
    return refuse(`The idempotency key is longer than ${MAX_LENGTH} characters`);
  }
  return { ok: true, key };
}

/**
 * Serialises a key as a Structured Field string, escaping `"` and `\`.
 * Throws `TypeError` for characters a string cannot hold.
 *
 * @example
 * ```ts
 * formatIdempotencyKey("order-42"); // '"order-42"'
 * ```
 */
export function formatIdempotencyKey(key: string): string {
  let out = '"';
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) {
      throw new TypeError("An idempotency key may hold only printable ASCII characters");
    }
    if (code === 0x22 || code === 0x5c) out += "\\";
    out += key[i];
  }
  return `${out}"`;
}

function parseString(text: string): string | ParsedKey {
  // Keys almost never hold escapes: the scan only checks, and the key is
  // one slice of the value unless a backslash makes it rebuild the text.
  let escaped = false;
  for (let i = 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x5c) {
      const next = text.charCodeAt(i + 1);
      if (next !== 0x22 && next !== 0x5c) {
        return refuse("A backslash in the key may only escape a quote or a backslash");
      }
      escaped = true;
      i++;
    } else if (code === 0x22) {
      if (i !== text.length - 1) {
        return refuse("Unexpected text after the quoted key (two keys, or parameters?)");
      }
      const inner = text.slice(1, i);
      return escaped ? inner.replace(/\\(.)/g, "$1") : inner;
    } else if (code < 0x20 || code > 0x7e) {
      return refuse("The key holds a character outside printable ASCII");
    }
    // Escapes shorten the key; the length check on the result is exact.
    if (i > MAX_LENGTH * 2 + 1) {
      return refuse(`The idempotency key is longer than ${MAX_LENGTH} characters`);
    }
  }
  return refuse("The quoted key has no closing quote");
}

function parseBare(text: string): string | ParsedKey {
  if (BARE_KEY.test(text)) return text;
  return refuse(
    'The Idempotency-Key header must hold one key: a quoted string such as "abc", or a bare token',
  );
}

function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && isOws(value.charCodeAt(start))) start++;
  while (end > start && isOws(value.charCodeAt(end - 1))) end--;
  return value.slice(start, end);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function refuse(reason: string): ParsedKey {
  return { ok: false, reason };
}
