/**
 * The default codec: JSON with tags for the values JSON cannot hold, so a
 * `Date` comes back as a `Date` and a `BigInt` as a `BigInt`.
 *
 * A tagged value is an object `{ "$t": tag, "v": payload }`. A plain object
 * that happens to have a `$t` property is itself wrapped (tag `o`), so no
 * user value can be mistaken for a tag.
 */
import { IdempotencyEncodeError } from "./errors.js";
import { locateUnencodable } from "./locate.js";

/** Turns results into text and back. Stores keep the text. */
export interface Codec {
  /** Encodes a value; throws `IdempotencyEncodeError` when it cannot. */
  encode(value: unknown): string;
  decode(text: string): unknown;
}

const TAG = "$t";

type Tagged = { $t: string; v?: unknown };

/**
 * Round-trips JSON values plus `undefined`, `BigInt`, `Date`, `Map`, `Set`,
 * `Uint8Array`, `Buffer`, `NaN`/`±Infinity`/`-0` and `Error` (name, message and
 * code). Objects with a `toJSON` method are encoded through it; other class
 * instances are encoded as plain objects of their own enumerable fields.
 * Functions, symbols and circular structures throw `IdempotencyEncodeError`
 * naming the path, such as `$.items[2].callback`.
 *
 * @example
 * ```ts
 * const text = defaultCodec.encode({ at: new Date(0), n: 10n });
 * defaultCodec.decode(text); // { at: Date(0), n: 10n }
 * ```
 */
export const defaultCodec: Codec = {
  encode(value: unknown): string {
    // Fast path: most results are small JSON-safe primitives.
    if (typeof value === "string" || typeof value === "boolean" || value === null) {
      return JSON.stringify(value);
    }
    if (typeof value === "number" && Number.isFinite(value) && !Object.is(value, -0)) {
      return JSON.stringify(value);
    }
    return encodeTagged(value);
  },

  decode(text: string): unknown {
    const parsed: unknown = JSON.parse(text);
    // Text without a tag is plain JSON: nothing to revive.
    return text.includes('"$t"') ? fromTagged(parsed) : parsed;
  },
};

/** Thrown inside the walk; turned into an error with a path at the top. */
const UNENCODABLE = Symbol("unencodable");

/** Deeper than this is taken for a cycle (a real one is found by `locate`). */
const MAX_DEPTH = 256;

function encodeTagged(value: unknown): string {
  try {
    return JSON.stringify(toTagged(value, 0));
  } catch (error) {
    if (error !== UNENCODABLE) throw error;
    const found = locateUnencodable(value);
    throw new IdempotencyEncodeError(
      `Cannot encode ${found.what} at ${found.path}`,
      found.path,
    );
  }
}

function toTagged(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      // JSON has no NaN, no infinities, and writes -0 as 0.
      if (Number.isFinite(value) && !Object.is(value, -0)) return value;
      return { $t: "f", v: Object.is(value, -0) ? "-0" : String(value) };
    case "undefined":
      return { $t: "u" };
    case "bigint":
      return { $t: "n", v: value.toString() };
    case "function":
    case "symbol":
      throw UNENCODABLE;
  }

  if (value === null) return null;
  if (depth > MAX_DEPTH) throw UNENCODABLE;
  return taggedObject(value as object, depth + 1);
}

function taggedObject(object: object, depth: number): unknown {
  if (Array.isArray(object)) {
    const out = new Array<unknown>(object.length);
    for (let i = 0; i < object.length; i++) out[i] = toTagged(object[i], depth);
    return out;
  }
  if (object instanceof Date) {
    const time = object.getTime();
    return { $t: "d", v: Number.isNaN(time) ? null : time };
  }
  if (Buffer.isBuffer(object)) return { $t: "B", v: object.toString("base64") };
  if (object instanceof Uint8Array) {
    const bytes = Buffer.from(object.buffer, object.byteOffset, object.length);
    return { $t: "b", v: bytes.toString("base64") };
  }
  if (object instanceof Map) {
    const entries: unknown[] = [];
    for (const [k, v] of object) entries.push([toTagged(k, depth), toTagged(v, depth)]);
    return { $t: "m", v: entries };
  }
  if (object instanceof Set) {
    const items: unknown[] = [];
    for (const item of object) items.push(toTagged(item, depth));
    return { $t: "s", v: items };
  }
  if (object instanceof Error) {
    const code = (object as { code?: unknown }).code;
    const fields = {
      name: object.name,
      message: object.message,
      code: typeof code === "string" ? code : undefined,
    };
    return { $t: "e", v: fields };
  }

  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return toTagged(toJSON.call(object), depth);

  const out: Record<string, unknown> = {};
  let tagLike = false;
  for (const key of Object.keys(object)) {
    if (key === TAG) tagLike = true;
    const value = toTagged((object as Record<string, unknown>)[key], depth);
    setOwn(out, key, value);
  }
  return tagLike ? { $t: "o", v: out } : out;
}

/** Sets an own property; a plain assignment to "__proto__" would replace the prototype. */
function setOwn(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(out, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    out[key] = value;
  }
}

function fromTagged(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(fromTagged);

  const record = value as Record<string, unknown>;
  if (typeof record[TAG] !== "string") return plainObject(record);

  const { $t: tag, v } = record as Tagged;
  switch (tag) {
    case "u":
      return undefined;
    case "f":
      return Number(v);
    case "n":
      return BigInt(v as string);
    case "d":
      return new Date(v === null ? Number.NaN : (v as number));
    case "B":
      return Buffer.from(v as string, "base64");
    case "b":
      return new Uint8Array(Buffer.from(v as string, "base64"));
    case "m":
      return new Map(
        (v as [unknown, unknown][]).map(([k, x]) => [fromTagged(k), fromTagged(x)]),
      );
    case "s":
      return new Set((v as unknown[]).map(fromTagged));
    case "e":
      return reviveError(v as { name: string; message: string; code?: string });
    case "o":
      return plainObject(v as Record<string, unknown>);
    default:
      throw new SyntaxError(`Unknown codec tag "${tag}"`);
  }
}

function plainObject(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    const value = fromTagged(record[key]);
    setOwn(out, key, value);
  }
  return out;
}

/** Rebuilds an error from its name, message and code. */
export function reviveError(stored: {
  name: string;
  message: string;
  code?: string | undefined;
}): Error {
  const error = new Error(stored.message);
  error.name = stored.name;
  if (stored.code !== undefined) (error as Error & { code?: string }).code = stored.code;
  return error;
}
