/**
 * Finds where a value holds something no encoding can keep: a function, a
 * symbol, or a circular reference. The fast encoders do not track paths;
 * they call this only after they failed, to say where.
 */

/** What was found and where, in `$.a[0].b` form. */
export interface UnencodablePlace {
  readonly what: string;
  readonly path: string;
}

/**
 * The first unencodable place in `value`, walking in the same order as the
 * encoders. Objects with `toJSON` are followed through it.
 *
 * @example
 * ```ts
 * locateUnencodable({ a: [1, () => 2] }); // { what: "a function", path: "$.a[1]" }
 * ```
 */
export function locateUnencodable(value: unknown): UnencodablePlace {
  return visit(value, "$", new Set()) ?? { what: "a value nested too deeply", path: "$" };
}

function visit(
  value: unknown,
  path: string,
  seen: Set<object>,
): UnencodablePlace | undefined {
  if (typeof value === "function") return { what: "a function", path };
  if (typeof value === "symbol") return { what: "a symbol", path };
  if (value === null || typeof value !== "object") return undefined;
  if (seen.has(value)) return { what: "a circular reference", path };

  seen.add(value);
  try {
    return visitChildren(value, path, seen);
  } finally {
    seen.delete(value);
  }
}

function visitChildren(
  object: object,
  path: string,
  seen: Set<object>,
): UnencodablePlace | undefined {
  if (Array.isArray(object)) {
    for (let i = 0; i < object.length; i++) {
      const found = visit(object[i], `${path}[${i}]`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Date || object instanceof Uint8Array) return undefined;
  if (object instanceof Map) {
    let i = 0;
    for (const [k, v] of object) {
      const found =
        visit(k, `${path}<key ${i}>`, seen) ?? visit(v, `${path}<value ${i}>`, seen);
      if (found) return found;
      i++;
    }
    return undefined;
  }
  if (object instanceof Set) {
    let i = 0;
    for (const item of object) {
      const found = visit(item, `${path}<item ${i++}>`, seen);
      if (found) return found;
    }
    return undefined;
  }
  if (object instanceof Error) return undefined;

  const toJSON = (object as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return visit(toJSON.call(object), path, seen);

  for (const key of Object.keys(object)) {
    const found = visit((object as Record<string, unknown>)[key], `${path}.${key}`, seen);
    if (found) return found;
  }
  return undefined;
}
