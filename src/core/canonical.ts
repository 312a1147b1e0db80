/**
 * Canonical encoding for hashing: equal values give equal text, whatever the
 * insertion order of their object keys. Types are marked, so the string
 * `"1"` and the number `1`, or a `Date` and its ISO string, never collide.
 *
 * It is not a serialisation format (nothing decodes it); it only has to be
 * stable, injective over the values it accepts, and fast. This runs on every
 * call, so the walk builds no path strings: when a value cannot be encoded,
 * a second, slow walk finds where (see `locate.ts`).
 */
import * as crypto from "node:crypto";
import { IdempotencyEncodeError } from "./errors.js";
import { locateUnencodable } from "./locate.js";

/**
 * Canonical text of a value. Object keys are sorted; `Map` entries are
 * sorted by their canonical key text and `Set` items by their canonical
 * text, so two maps with the same entries in another order are equal.
 *
 * @example
 * ```ts
 * canonicalize({ b: 1, a: [1n, new Date(0)] }) === canonicalize({ a: [1n, new Date(0)], b: 1 });
 * ```
 */
export function canonicalize(value: unknown): string {
  try {
    return write(value, 0);
  } catch (error) {
    if (error !== UNENCODABLE) throw error;
    const found = locateUnencodable(value);
    throw new IdempotencyEncodeError(
      `Cannot fingerprint ${found.what} at ${found.path}`,
      found.path,
    );
  }
}

// One-shot hashing where the runtime has it (Node.js 20.12+): about twice
// as fast as createHash for short inputs.
const oneShot = (crypto as { hash?: (algorithm: string, data: string) => string }).hash;
const sha256 =
  typeof oneShot === "function"
    ? (text: string): string => oneShot("sha256", text)
    : (text: string): string => crypto.createHash("sha256").update(text).digest("hex");

/**
 * SHA-256 (hex) of a value's canonical text.
 *
 * @example
 * ```ts
 * hashValue({ amount: 10, currency: "EUR" }); // "9f2c…", 64 hex characters
 * ```
 */
export function hashValue(value: unknown): string {
  return sha256(canonicalize(value));
}

// Object keys repeat from call to call (the same request shapes), so their
// quoted form is cached; the cache is bounded so odd inputs cannot grow it.
const quotedKeys = new Map<string, string>();
const QUOTED_KEYS_LIMIT = 10_000;

function quoteKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = JSON.stringify(key);
    if (quotedKeys.size < QUOTED_KEYS_LIMIT) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** Thrown inside the walk; turned into an error with a path at the top. */
const UNENCODABLE = Symbol("unencodable");

/** Deeper than this is taken for a cycle (a real one is found by `locate`). */
const MAX_DEPTH = 256;

function write(value: unknown, depth: number): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? JSON.stringify(value) : `#f${String(value)}`;
    case "boolean":
      return value ? "true" : "false";
    case "undefined":
      return "#u";
    case "bigint":
      return `#n${value.toString()}`;
    case "function":
    case "symbol":
      throw UNENCODABLE;
  }

  if (value === null) return "null";
  if (depth > MAX_DEPTH) throw UNENCODABLE;
  return writeObject(value as object, depth + 1);
}

function writeObject(object: object, depth: number): string {
  // Plain objects and arrays are nearly every input: test them first, before
  // the instanceof checks and the toJSON lookup.
  const proto = Object.getPrototypeOf(object);
  if ((proto === Object.prototype || proto === null) && !("toJSON" in object)) {
    return writePlain(object, depth);
  }
  if (Array.isArray(object)) {
    let out = "[";
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out += ",";
      out += write(object[i], depth);
    }
    return `${out}]`;
  }
  if (object instanceof Date) return `#d${object.getTime()}`;
  if (object instanceof Uint8Array) {
    return `#b${Buffer.from(object.buffer, object.byteOffset, object.length).toString("base64")}`;
  }
  if (object instanceof Map) {
    const entries: string[] = [];
    for (const [k, v] of object) entries.push(`${write(k, depth)}:${write(v, depth)}`);
    return `#m{${entries.sort().join(",")}}`;
  }
  if (object instanceof Set) {
    const items: string[] = [];
    for (const item of object) items.push(write(item, depth));
    return `#s[${items.sort().join(",")}]`;
  }

  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return write(toJSON.call(object), depth);
  return writePlain(object, depth);
}

function writePlain(object: object, depth: number): string {
  const keys = sortKeys(Object.keys(object));
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0) out += ",";
    out += quoteKey(key);
    out += ":";
    out += write((object as Record<string, unknown>)[key], depth);
  }
  return `${out}}`;
}

/** Sorts in place: insertion sort for the small key lists of real requests. */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
