/**
 * The codec the HTTP layer stores responses with. Stored responses have one
 * fixed shape, so a dedicated encoding is both smaller and several times
 * faster than the general codec's tagged walk:
 *
 * - `[status, [name, value, …], "t", text]`: a UTF-8 body, kept as text
 * - `[status, [name, value, …], "b", base64]`: any other body
 * - `[status, reason]`: the response ran but cannot be replayed
 */

import { isUtf8 } from "node:buffer";
import type { Codec } from "../core/codec.js";
import { IdempotencyEncodeError } from "../core/errors.js";
import type { StoredResponse } from "./captured.js";

/**
 * Encodes and decodes {@link StoredResponse} values.
 *
 * @example
 * ```ts
 * const text = responseCodec.encode({ status: 201, headers: [], body: new Uint8Array() });
 * responseCodec.decode(text); // the same response
 * ```
 */
export const responseCodec: Codec = {
  encode(value: unknown): string {
    const stored = value as StoredResponse;
    if (
      stored === null ||
      typeof stored !== "object" ||
      typeof stored.status !== "number"
    ) {
      throw new IdempotencyEncodeError("Not a stored HTTP response", "$");
    }
    if ("unavailable" in stored)
      return JSON.stringify([stored.status, stored.unavailable]);

    const flat: string[] = [];
    for (const [name, header] of stored.headers) flat.push(name, header);
    const body = Buffer.from(
      stored.body.buffer,
      stored.body.byteOffset,
      stored.body.length,
    );
    return isUtf8(body)
      ? JSON.stringify([stored.status, flat, "t", body.toString("utf8")])
      : JSON.stringify([stored.status, flat, "b", body.toString("base64")]);
  },

  decode(text: string): StoredResponse {
    const parsed = JSON.parse(text) as
      | [number, string]
      | [number, string[], "t" | "b", string];
    if (parsed.length === 2) return { status: parsed[0], unavailable: parsed[1] };

    const [status, flat, kind, payload] = parsed;
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) headers.push([flat[i]!, flat[i + 1]!]);
    const body = Buffer.from(payload, kind === "t" ? "utf8" : "base64");
    return { status, headers, body };
  },
};
