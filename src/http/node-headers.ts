/**
 * Helpers for adapters over Node's `http` objects (Express, Fastify):
 * reading headers and writing a framework-free reply.
 */
import type { RequestView } from "./options.js";
import type { HttpReply } from "./problem.js";

/** Node's incoming header map. */
export type NodeHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** The protocol's view of a Node request; repeated headers are joined as Node joins them. */
export function nodeRequestView(
  method: string,
  url: string,
  headers: NodeHeaders,
): RequestView {
  return {
    method: method.toUpperCase(),
    url,
    header(name) {
      const value = headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    },
  };
}

/**
 * A reply's headers as one object, repeated names as arrays; list-valued
 * CORS and `Vary` headers already on the response are extended, not replaced.
 */
export function replyHeaders(
  reply: HttpReply,
  existing: (name: string) => unknown,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of reply.headers) {
    const seen = out[name];
    if (seen === undefined) out[name] = value;
    else out[name] = Array.isArray(seen) ? [...seen, value] : [seen, value];
  }

  const expose = out["access-control-expose-headers"];
  const before = existing("access-control-expose-headers");
  if (typeof expose === "string" && typeof before === "string" && before !== "") {
    out["access-control-expose-headers"] = `${before}, ${expose}`;
  }
  return out;
}

/**
 * The named response headers that are set; reading only the allow-listed
 * ones costs less than copying every header.
 */
export function pickHeaders(
  names: Iterable<string>,
  get: (name: string) => unknown,
): [string, string | number | readonly string[]][] {
  const out: [string, string | number | readonly string[]][] = [];
  for (const name of names) {
    const value = get(name);
    if (typeof value === "string" || typeof value === "number" || Array.isArray(value)) {
      out.push([name, value as string | number | readonly string[]]);
    }
  }
  return out;
}
