/**
 * The demo's client: posts a charge with an Idempotency-Key and, like a
 * careful client, retries on 409 (still in progress) after `Retry-After`.
 */

/** What one HTTP exchange showed the client. */
export interface Seen {
  /** The status, or `"dropped"` when the response never arrived. */
  readonly status: number | "dropped";
  readonly replayed: boolean;
  /** The charge id in the body, if any. */
  readonly chargeId?: string | undefined;
  readonly reconciled?: boolean | undefined;
}

/** One POST /charges. */
export async function postCharge(
  base: string,
  key: string,
  body: { account: string; amount: number },
  signal?: AbortSignal,
): Promise<Seen> {
  try {
    const response = await fetch(`${base}/charges`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
      signal: signal ?? null,
    });
    const json = (await response.json()) as { id?: string; reconciled?: boolean };
    return {
      status: response.status,
      replayed: response.headers.get("idempotent-replayed") === "true",
      chargeId: json.id,
      reconciled: json.reconciled,
    };
  } catch (error) {
    if (signal?.aborted) return { status: "dropped", replayed: false };
    throw error;
  }
}

/** Posts until the answer is not a 409, at most `tries` times; returns every answer. */
export async function postUntilAnswered(
  base: string,
  key: string,
  body: { account: string; amount: number },
  tries = 40,
): Promise<Seen[]> {
  const seen: Seen[] = [];
  for (let i = 0; i < tries; i += 1) {
    const answer = await postCharge(base, key, body);
    seen.push(answer);
    if (answer.status !== 409) break;
    // Retry-After is in whole seconds; the demo's crashed worker holds a
    // one-second lease, so polling faster keeps the run brief.
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  return seen;
}

/** `201 ch_1 (replayed)`: one answer in a few words. */
export function describeSeen(seen: Seen): string {
  if (seen.status === "dropped") return "connection dropped";
  const notes = [
    seen.replayed ? "replayed" : "",
    seen.reconciled ? "reconciled" : "",
  ].filter(Boolean);
  const id = seen.chargeId ? ` ${seen.chargeId}` : "";
  return `${seen.status}${id}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}
