/**
 * Pieces of the transactional runner: its context, the opening statement
 * batch, and result sealing and replay with the engine's envelope.
 */
import { createHash } from "node:crypto";
import type { IdempotencyContext } from "../../core/context.js";
import { IdempotencyStepError } from "../../core/errors.js";
import type { RecordId } from "../../core/record.js";
import { COLUMNS, NOW_MS } from "./queries.js";
import { toPgText } from "./rows.js";

/**
 * The context a transactional operation receives. Everything it writes
 * through its client commits with the record or not at all, so steps need
 * no recovery point: `step()` just runs its function (names must still be
 * unique), and the lease never runs out (`signal` never aborts).
 *
 * @example
 * ```ts
 * await store.transaction(key, async (tx, ctx) => {
 *   if (ctx.attempt > 1) log.info("retry after a rolled-back attempt");
 *   return tx.query("UPDATE stock SET n = n - 1 WHERE sku = $1", [sku]);
 * });
 * ```
 */
export class TransactionContext implements IdempotencyContext {
  readonly #used = new Set<string>();
  #controller: AbortController | undefined;

  constructor(
    readonly id: RecordId,
    readonly attempt: number,
    readonly token: number,
  ) {}

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  async step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    if (typeof name !== "string" || name.length === 0 || name.length > 255) {
      throw new IdempotencyStepError(
        "A step name must be a string of 1 to 255 characters",
      );
    }
    if (this.#used.has(name)) {
      throw new IdempotencyStepError(
        `Step "${name}" was already used in this operation; step names must be unique`,
      );
    }
    this.#used.add(name);
    return fn();
  }
}

/** A 64-bit advisory lock number for one record of one table. */
export function advisoryKey(table: string, id: RecordId): string {
  const digest = createHash("sha256")
    .update(JSON.stringify([table, id.namespace, id.scope, id.key]))
    .digest();
  return digest.readBigInt64BE(0).toString();
}

// Text reaches the opening batch only as a Unicode-escaped literal: every
// character but letters, digits and a few safe marks becomes `\+` and six
// hex digits, so neither a quote nor a backslash from a caller ever appears
// in the SQL. A literal (not a function of one) keeps the primary key index
// usable.
const SAFE_CHAR = /^[A-Za-z0-9 _.:-]$/;

function literal(text: string): string {
  let out = "";
  for (const char of toPgText(text)) {
    out += SAFE_CHAR.test(char)
      ? char
      : `\\+${(char.codePointAt(0) as number).toString(16).padStart(6, "0")}`;
  }
  return `U&'${out}'`;
}

/**
 * The statements that open a transactional execution, sent as one batch
 * (one round trip, hence no bind parameters: the key arrives as a
 * Unicode-escaped literal and the lock number is an integer computed here):
 *
 * 1. `BEGIN`
 * 2. the record's advisory lock, tried once (`locked`)
 * 3. the record as it stands, with the database clock
 *
 * When the lock is taken (a duplicate is inside its transaction), the
 * runner rolls back (`onBusy: "reject"`) or sends {@link waitingBatch}.
 */
export function openingBatch(table: string, id: RecordId, lock: string): string {
  return `BEGIN;
SELECT pg_try_advisory_xact_lock('${lock}'::bigint) AS locked;
${recordRead(table, id)}`;
}

/**
 * The second batch of a duplicate that waits: the lock again, waited for up
 * to `waitMs` through `lock_timeout` (the caller's own value restored
 * afterwards), then the record read again, now that the first transaction
 * has committed or rolled back.
 */
export function waitingBatch(
  table: string,
  id: RecordId,
  lock: string,
  waitMs: number,
): string {
  return `SELECT set_config('idemkit.lock_timeout', current_setting('lock_timeout'), true);
SET LOCAL lock_timeout = '${Math.max(1, Math.ceil(waitMs))}ms';
SELECT pg_advisory_xact_lock('${lock}'::bigint);
SELECT set_config('lock_timeout', current_setting('idemkit.lock_timeout'), true);
${recordRead(table, id)}`;
}

function recordRead(table: string, id: RecordId): string {
  const columns = COLUMNS.replace(/(\w+)/g, "r.$1");
  return `SELECT ${columns}, c.now_ms FROM (SELECT ${NOW_MS} AS now_ms) c
LEFT JOIN ${table} r ON r.namespace = ${literal(id.namespace)}
  AND r.scope = ${literal(id.scope)} AND r.key = ${literal(id.key)};`;
}
