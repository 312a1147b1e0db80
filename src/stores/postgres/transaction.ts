/**
 * Transactional execution: the operation and its idempotency record share
 * one database transaction. Round trips, against the caller's own
 * `BEGIN … COMMIT`: the opening batch replaces `BEGIN`, then the
 * operation's statements, then one write of the settled record, then
 * `COMMIT` — one extra round trip.
 *
 * Timeline of two duplicates A and B in different processes:
 *
 *   A: BEGIN, try-lock(key) ✓, read → none
 *                                      B: BEGIN, try-lock(key) ✗
 *   A: business writes, write record   B: lock(key) … waits
 *   A: COMMIT (frees the lock)         B: … granted, read → completed
 *                                      B: ROLLBACK, replay A's result
 *
 * - A dies before COMMIT: Postgres rolls back its writes and its record
 *   together and frees the lock; B reads "none" and runs cleanly.
 * - B waits at most `waitTimeout` (`lock_timeout`), or with
 *   `onBusy: "reject"` stops after the try, then throws
 *   `IdempotencyInProgressError`. Only a duplicate that waits pays the
 *   second round trip.
 * - A plain `claim` on the same key (outside a transaction) takes no
 *   advisory lock; the record write is conditional on the token A read, so
 *   A rolls back and starts over rather than overwrite it.
 */

import { hashValue } from "../../core/canonical.js";
import { type Codec, defaultCodec } from "../../core/codec.js";
import { runInContext } from "../../core/context.js";
import {
  IdempotencyInProgressError,
  IdempotencyKeyReuseError,
  IdempotencyStoreError,
} from "../../core/errors.js";
import { type EventHandler, emit, type IdempotencyEvent } from "../../core/events.js";
import { validateKey, validateName, validateScope } from "../../core/keys.js";
import { type Logger, silentLogger } from "../../core/logger.js";
import { DEFAULTS, type ExecutionOptions, mergeExecution } from "../../core/options.js";
import { sealResult, toStoredError } from "../../core/outcomes.js";
import type { IdempotencyRecord, RecordId } from "../../core/record.js";
import { decideClaim } from "../transitions.js";
import {
  asPgStoreError,
  LOCK_NOT_AVAILABLE,
  type PgPool,
  type PgPoolClient,
  type PgQueryable,
  type PgQueryConfig,
  type PgQueryResult,
  sqlState,
} from "./client.js";
import type { StoreQueries } from "./queries.js";
import { errorToText, fromRow, type RecordRow, stepsToJson, toPgText } from "./rows.js";
import { OperationFailed, replay, timed } from "./transaction-outcome.js";
import {
  advisoryKey,
  openingBatch,
  TransactionContext,
  waitingBatch,
} from "./transaction-parts.js";

/**
 * The operation of a transactional execution: `tx` is the client inside the
 * open transaction. Run every write that must happen once through it, and
 * never `COMMIT` or `ROLLBACK` yourself.
 *
 * @example
 * ```ts
 * const reserve: TransactionalOperation<number> = async (tx) => {
 *   await tx.query("UPDATE stock SET n = n - 1 WHERE sku = $1", ["sku-1"]);
 *   return 1;
 * };
 * ```
 */
export type TransactionalOperation<T> = (
  tx: PgQueryable,
  ctx: TransactionContext,
) => T | Promise<T>;

/**
 * Options of `PostgresStore.transaction`.
 *
 * @example
 * ```ts
 * const options: TransactionOptions = { name: "transfer", scope: user.id, payload: body, onBusy: "reject" };
 * ```
 */
export interface TransactionOptions
  extends Pick<ExecutionOptions, "ttl" | "onBusy" | "waitTimeout" | "cacheError"> {
  /** The operation's name: records of different names never meet. @default "default" */
  name?: string | undefined;
  /** Who the key belongs to. @default "" */
  scope?: string | undefined;
  /** The request the key stands for; its fingerprint detects key reuse. @default none */
  payload?: unknown;
  /** A precomputed fingerprint, used instead of hashing `payload`. @default none */
  fingerprint?: string | undefined;
  /** Encodes results. @default defaultCodec */
  codec?: Codec | undefined;
  /** The largest encoded result stored, in bytes. @default 16 MiB */
  maxResultBytes?: number | undefined;
  /** Receives warnings. @default silent */
  logger?: Logger | undefined;
  /** Receives the engine's events (`acquired`, `replayed`, `completed`, …). @default none */
  onEvent?: EventHandler | undefined;
}

/** What the runner needs from its store. */
export interface TransactionDeps {
  readonly pool: PgPool;
  readonly sql: StoreQueries;
  readonly table: string;
  readonly timeoutMs: number;
  /** Prefix of prepared statement names; undefined to send plain text. */
  readonly prefix: string | undefined;
}

type Round<T> =
  | { readonly kind: "done"; readonly value: T }
  | { readonly kind: "busy"; readonly leaseUntil: number }
  | { readonly kind: "again" };

/** Runs `operation` once per key inside a transaction with its record. */
export async function runTransaction<T>(
  deps: TransactionDeps,
  key: string,
  operation: TransactionalOperation<T>,
  options: TransactionOptions,
): Promise<T> {
  validateKey(key);
  const name = options.name ?? "default";
  validateName(name);
  const scope = options.scope ?? "";
  validateScope(scope);
  const settings = mergeExecution(undefined, {
    ttl: options.ttl,
    onBusy: options.onBusy,
    waitTimeout: options.waitTimeout,
    cacheError: options.cacheError,
  });
  const run: RunState<T> = {
    deps,
    id: { namespace: name, scope, key },
    fingerprint:
      options.fingerprint ??
      (options.payload === undefined ? "" : hashValue(options.payload)),
    ttlMs: settings.ttlMs,
    onBusy: settings.onBusy,
    cacheError: settings.cacheError,
    codec: options.codec ?? defaultCodec,
    maxResultBytes: options.maxResultBytes ?? DEFAULTS.maxResultBytes,
    logger: options.logger ?? silentLogger,
    emit: (event) => emit(options.onEvent, { ...event, store: "postgres" }),
    operation,
    deadline: Date.now() + settings.waitTimeoutMs,
  };

  let pause = 5;
  for (let rounds = 0; ; rounds++) {
    let round: Round<T>;
    try {
      round = await runRound(run);
    } catch (error) {
      throw error instanceof OperationFailed ? error.error : error;
    }
    if (round.kind === "done") return round.value;

    const now = Date.now();
    if (round.kind === "busy") {
      run.emit({ type: "busy", id: run.id });
      if (run.onBusy === "reject" || now >= run.deadline) {
        const retryAfterMs = Math.max(100, round.leaseUntil - now);
        throw new IdempotencyInProgressError(
          `An operation with key "${key}" is still in progress; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
          retryAfterMs,
        );
      }
    }
    if (rounds > 1000) {
      throw new IdempotencyStoreError(`Key "${key}" kept changing under its transaction`);
    }
    await sleep(
      Math.min(pause * (0.5 + Math.random() / 2), Math.max(0, run.deadline - now)),
    );
    pause = Math.min(pause * 2, 250);
  }
}

interface RunState<T> {
  readonly deps: TransactionDeps;
  readonly id: RecordId;
  readonly fingerprint: string;
  readonly ttlMs: number;
  readonly onBusy: "wait" | "reject";
  readonly cacheError: (error: unknown) => boolean;
  readonly codec: Codec;
  readonly maxResultBytes: number;
  readonly logger: Logger;
  readonly emit: (event: Omit<IdempotencyEvent, "store">) => void;
  readonly operation: TransactionalOperation<T>;
  readonly deadline: number;
}

/** One transaction: open, decide, run, settle, commit. */
async function runRound<T>(run: RunState<T>): Promise<Round<T>> {
  const { deps, id } = run;
  const client = await timed(deps.pool.connect(), deps.timeoutMs, "connect");
  let healthy = true;
  const rollback = async (): Promise<void> => {
    try {
      await timed(client.query("ROLLBACK"), deps.timeoutMs, "rollback");
    } catch {
      healthy = false;
    }
  };

  try {
    const lock = advisoryKey(deps.table, id);
    const send = async (batch: string, ms: number, what: string) => {
      const raw = await timed(client.query(batch), ms, what);
      return Array.isArray(raw) ? raw : [raw];
    };
    let results: PgQueryResult[];
    try {
      results = await send(openingBatch(deps.table, id, lock), deps.timeoutMs, "begin");
      if (lockedOf(results) === false) {
        // A duplicate is inside its transaction: wait for it, or give up now.
        if (run.onBusy === "reject") {
          await rollback();
          return { kind: "busy", leaseUntil: 0 };
        }
        const waitMs = Math.max(1, run.deadline - Date.now());
        const batch = waitingBatch(deps.table, id, lock, waitMs);
        results = await send(batch, waitMs + deps.timeoutMs, "wait for the key");
      }
    } catch (error) {
      await rollback();
      if (sqlState(error) === LOCK_NOT_AVAILABLE) return { kind: "busy", leaseUntil: 0 };
      throw error;
    }

    const row = results[results.length - 1]?.rows[0] as RecordRow | undefined;
    if (row === undefined)
      throw new IdempotencyStoreError("Postgres returned no clock row");
    const current = row.namespace === null ? undefined : fromRow(row);
    const now = Number(row.now_ms);
    const outcome = decideClaim(
      current,
      { id, fingerprint: run.fingerprint, leaseMs: 1, ttlMs: run.ttlMs },
      now,
    );

    switch (outcome.kind) {
      case "mismatch":
        await rollback();
        run.emit({ type: "mismatch", id });
        throw new IdempotencyKeyReuseError(
          `Key "${id.key}" was already used for a different request; use a new key for a new request`,
        );
      case "replay":
        await rollback();
        return { kind: "done", value: replay(run.codec, run.emit, outcome.record) };
      case "busy":
        await rollback();
        return { kind: "busy", leaseUntil: outcome.record.leaseUntil };
      case "acquired":
        return await own(
          run,
          client,
          outcome.record,
          current?.token,
          outcome.takenOver,
          rollback,
        );
    }
  } catch (error) {
    // The operation's own error and a key reuse come out as they are; the
    // transaction was already rolled back on their way.
    if (error instanceof OperationFailed || error instanceof IdempotencyKeyReuseError)
      throw error;
    healthy = false;
    await rollback();
    throw asPgStoreError(error, "transaction");
  } finally {
    client.release(!healthy);
  }
}

async function own<T>(
  run: RunState<T>,
  client: PgPoolClient,
  record: IdempotencyRecord,
  previousToken: number | undefined,
  takenOver: boolean,
  rollback: () => Promise<void>,
): Promise<Round<T>> {
  const { id, deps } = run;
  const { token, attempts: attempt } = record;
  const ctx = new TransactionContext(id, attempt, token);
  run.emit({ type: "acquired", id, attempt, token });
  if (takenOver) run.emit({ type: "taken_over", id, attempt, token });

  let value: T;
  try {
    value = await runInContext(ctx, () => run.operation(client, ctx));
  } catch (error) {
    await rollback();
    await recordFailure(run, client, record, previousToken, error);
    throw new OperationFailed(error);
  }

  const sealed = sealResult(run.codec, value, run.maxResultBytes, run.logger, id);
  const settled = await timed(
    settle(
      client,
      deps,
      settleValues(run, record, "completed", sealed, undefined, previousToken),
    ),
    deps.timeoutMs,
    "record the result",
  );
  if (!Array.isArray(settled) && settled.rowCount !== 1) {
    // A plain claim took the key since the batch read it: start over.
    await rollback();
    return { kind: "again" };
  }

  await timed(client.query("COMMIT"), deps.timeoutMs, "commit");
  run.emit({ type: "completed", id, attempt, token });
  return { kind: "done", value };
}

/**
 * After a rollback, on the same connection (outside any transaction, so a
 * pool of one cannot deadlock): a failure `cacheError` marks final is stored (without
 * the rolled-back writes) so duplicates replay it; a retryable one leaves
 * no record, and the next call runs afresh.
 */
async function recordFailure<T>(
  run: RunState<T>,
  client: PgPoolClient,
  record: IdempotencyRecord,
  previousToken: number | undefined,
  error: unknown,
): Promise<void> {
  const { id, deps } = run;
  let final = false;
  try {
    final = run.cacheError(error) === true;
  } catch (hookError) {
    run.logger.error(
      { id, err: hookError },
      "idemkit: cacheError threw; treating as retryable",
    );
  }
  run.emit({ type: "failed", id, attempt: record.attempts, token: record.token, error });
  if (!final) return;

  try {
    const stored = toStoredError(error, true);
    const values = settleValues(run, record, "failed", null, stored, previousToken);
    await timed(settle(client, deps, values), deps.timeoutMs, "record the failure");
  } catch (storeError) {
    run.logger.error({ id, err: storeError }, "idemkit: could not cache a final failure");
  }
}

function settleValues<T>(
  run: RunState<T>,
  record: IdempotencyRecord,
  status: "completed" | "failed",
  result: string | null,
  error: ReturnType<typeof toStoredError> | undefined,
  previousToken: number | undefined,
): unknown[] {
  return [
    toPgText(record.namespace),
    toPgText(record.scope),
    toPgText(record.key),
    record.fingerprint,
    status,
    record.token,
    record.attempts,
    result === null ? null : toPgText(result),
    error === undefined ? null : errorToText(error),
    error?.final === true,
    stepsToJson(record.steps),
    record.createdAt,
    Math.ceil(run.ttlMs),
    previousToken ?? null,
  ];
}

/** Sends the record's settling write, as a prepared statement when the store uses them. */
function settle(client: PgPoolClient, deps: TransactionDeps, values: unknown[]) {
  if (deps.prefix === undefined) return client.query(deps.sql.settle, values);
  const config: PgQueryConfig = {
    name: `${deps.prefix}settle`,
    text: deps.sql.settle,
    values,
  };
  return client.query(config);
}

/** The `locked` column of the opening batch's try-lock, if present. */
function lockedOf(results: PgQueryResult[]): unknown {
  for (const result of results) {
    const first = result.rows[0];
    if (typeof first === "object" && first !== null && "locked" in first) {
      return (first as { locked: unknown }).locked;
    }
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
