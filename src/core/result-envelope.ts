/**
 * What a completed record's `result` holds: the codec's text behind a one
 * character marker, or the reason the result could not be kept. Stores see
 * one opaque string; only the engine, the HTTP layer and the CLI open it.
 *
 * - `v<codec text>`: a result to replay
 * - `u<reason>`: the operation ran, but its result could not be stored
 *   (unencodable or too large); duplicates get
 *   `IdempotencyResultUnavailableError` instead of a second execution
 */

/** An opened envelope. */
export type ResultEnvelope =
  | { readonly kind: "value"; readonly text: string }
  | { readonly kind: "unavailable"; readonly reason: string };

/** Seals codec text for storage. */
export function sealValue(text: string): string {
  return `v${text}`;
}

/** Seals the reason a result could not be stored. */
export function sealUnavailable(reason: string): string {
  return `u${reason}`;
}

/** Opens a stored envelope; `undefined` for text that is not one. */
export function openEnvelope(stored: string): ResultEnvelope | undefined {
  const marker = stored.charCodeAt(0);
  if (marker === 118 /* v */) return { kind: "value", text: stored.slice(1) };
  if (marker === 117 /* u */) return { kind: "unavailable", reason: stored.slice(1) };
  return undefined;
}
