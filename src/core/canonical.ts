/**
 * Canonical encoding for hashing: equal values give equal text, whatever the
 * insertion order of their object keys. Types are marked, so the string
 * `"1"` and the number `1`, or a `Date` and its ISO string, never collide.
 *
 * It is not a serialisation format (nothing decodes it); it only has to be
 * stable, injective over the values it accepts, and fast.
 */
import { createHash } from "node:crypto";
import { IdempotencyEncodeError } from "./errors.js";

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
  return write(value, "$", new Set());
}

/**
 * SHA-256 (hex) of a value's canonical text.
 *
 * @example
 * ```ts
 * hashValue({ amount: 10, currency: "EUR" }); // "9f2c…", 64 hex characters
 * ```
 */
export function hashValue(value: unknown): string {
  return createHash("sha256").update(canonicalize(value)).digest("hex");
}

function write(value: unknown, path: string, seen: Set<object>): string {
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
      throw new IdempotencyEncodeError(
        `Cannot fingerprint a ${typeof value} at ${path}`,
        path,
      );
  }

  if (value === null) return "null";
  const object = value as object;
  if (seen.has(object)) {
    throw new IdempotencyEncodeError(
      `Cannot fingerprint a circular reference at ${path}`,
      path,
    );
  }

  seen.add(object);
  try {
    return writeObject(object, path, seen);
  } finally {
    seen.delete(object);
  }
}

function writeObject(object: object, path: string, seen: Set<object>): string {
  if (Array.isArray(object)) {
    let out = "[";
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out += ",";
      out += write(object[i], `${path}[${i}]`, seen);
    }
    return `${out}]`;
  }
  if (object instanceof Date) return `#d${object.getTime()}`;
  if (object instanceof Uint8Array) {
    return `#b${Buffer.from(object.buffer, object.byteOffset, object.length).toString("base64")}`;
  }
  if (object instanceof Map) {
    const entries: string[] = [];
    for (const [k, v] of object) {
      entries.push(
        `${write(k, `${path}<key>`, seen)}:${write(v, `${path}<value>`, seen)}`,
      );
    }
    return `#m{${entries.sort().join(",")}}`;
  }
  if (object instanceof Set) {
    const items: string[] = [];
    for (const item of object) items.push(write(item, `${path}<item>`, seen));
    return `#s[${items.sort().join(",")}]`;
  }

  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return write(toJSON.call(object), path, seen);

  const keys = Object.keys(object).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0) out += ",";
    out += `${JSON.stringify(key)}:${write((object as Record<string, unknown>)[key], `${path}.${key}`, seen)}`;
  }
  return `${out}}`;
}
