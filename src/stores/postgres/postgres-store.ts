import { createHash } from "node:crypto";
import { hashValue } from "../../core/canonical.js";
import { type Duration, parseDuration } from "../../core/duration.js";
import { IdempotencyConfigError, IdempotencyStoreError } from "../../core/errors.js";
import { type Logger, silentLogger } from "../../core/logger.js";
import type { IdempotencyRecord, RecordId } from "../../core/record.js";
import type {
  ClaimOutcome,
  ClaimRequest,
  CompleteRequest,
  FailRequest,
  IdempotencyStore,
  ListOptions,
  ListPage,
  StoreStats,
} from "../contract.js";
import { isExpired } from "../transitions.js";
import { type PgPool, runQuery } from "./client.js";
import { listQuery } from "./list.js";
import {
  migrate,
  migrationSql,
  qualified,
  type TableNames,
  validateIdentifier,
} from "./migrate.js";
import { buildQueries, type StoreQueries } from "./queries.js";
import { errorToText, fromRow, type RecordRow, toPgText, viewOfRow } from "./rows.js";
import {
  runTransaction,
  type TransactionalOperation,
  type TransactionOptions,
} from "./transaction.js";

/**
 * Options of {@link PostgresStore}.
 *
 * @example
 * ```ts
 * const options: PostgresStoreOptions = { pool, schema: "app", table: "idempotency", sweepInterval: "5m" };
 * ```
 */
export interface PostgresStoreOptions {
  /** A `pg` Pool (or anything with its `query` and `connect`). Required. */
  pool: PgPool;
  /** The records table. @default "idemkit_records" */
  table?: string | undefined;
  /** The table's schema. @default the connection's search_path */
  schema?: string | undefined;
  /**
   * How often expired records are deleted, or `false` for never (then call
   * `sweep()` yourself). The timer does not keep the process alive.
   * @default "60s"
   */
  sweepInterval?: Duration | false | undefined;
  /** Rows deleted per sweep statement, so a backlog never locks much at once. @default 1000 */
  sweepBatchSize?: number | undefined;
  /**
   * How long one store call waits for Postgres before it fails with
   * `IdempotencyStoreError`, so an unreachable server never hangs a caller.
   * @default "5s"
   */
  timeout?: Duration | undefined;
  /**
   * Sends the store's statements as named prepared statements, so each
   * connection parses and plans them once. Turn it off behind a connection
   * pooler that cannot keep prepared statements (PgBouncer before 1.21 in
   * transaction mode).
   * @default true
   */
  prepare?: boolean | undefined;
  /** Receives sweep failures. @default silent */
  logger?: Logger | undefined;
}

/**
 * Every default of {@link PostgresStoreOptions}, in one place.
 *
 * @example
 * ```ts
 * POSTGRES_DEFAULTS.table; // "idemkit_records"
 * ```
 */
export const POSTGRES_DEFAULTS = {
  table: "idemkit_records",
  sweepInterval: "60s",
  sweepBatchSize: 1000,
  timeout: "5s",
} as const;

// A claim that found its row only in a newer snapshot is run again; more
// than a few rounds means something is badly wrong.
const CLAIM_ROUNDS = 5;

/**
 * The Postgres store: one table, claims as one `INSERT … ON CONFLICT`
 * statement, times from the database clock, and transactional execution
 * (`transaction()`), where an operation's writes and its record commit
 * together.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * import { Idempotency } from "idemkit";
 * import { PostgresStore } from "idemkit/postgres";
 *
 * const store = new PostgresStore({ pool: new pg.Pool({ connectionString: url }) });
 * await store.migrate();
 * const idem = new Idempotency({ store });
 * ```
 */
export class PostgresStore implements IdempotencyStore {
  readonly kind = "postgres";
  readonly maxResultBytes = undefined;
  /** The table, quoted and qualified, as the store's SQL names it. */
  readonly table: string;
  readonly #pool: PgPool;
  readonly #names: TableNames;
  readonly #sql: StoreQueries;
  readonly #timeoutMs: number;
  readonly #batch: number;
  readonly #logger: Logger;
  // Statement names, unique per table (a name is bound to one text per
  // connection), or undefined when prepared statements are off.
  readonly #prefix: string | undefined;
  // The statement name of each operation, built once: a name made per call
  // is a new string the driver hashes again for its statement cache.
  readonly #statementNames = new Map<string, string>();
  // Transactional executions in flight in this process, so duplicates
  // here join the running one instead of each holding a connection.
  readonly #flights = new Map<string, Promise<unknown>>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: PostgresStoreOptions) {
    const pool = options?.pool;
    if (pool === null || typeof pool !== "object" || typeof pool.query !== "function") {
      throw new IdempotencyConfigError("PostgresStore needs { pool }: a pg Pool");
    }
    this.#pool = pool;
    this.#names = {
      table: validateIdentifier(options.table ?? POSTGRES_DEFAULTS.table, "table name"),
      schema:
        options.schema === undefined
          ? undefined
          : validateIdentifier(options.schema, "schema name"),
    };
    this.table = qualified(this.#names);
    this.#sql = buildQueries(this.table);
    this.#timeoutMs = parseDuration(
      options.timeout ?? POSTGRES_DEFAULTS.timeout,
      "timeout",
    );
    this.#batch = options.sweepBatchSize ?? POSTGRES_DEFAULTS.sweepBatchSize;
    if (!Number.isInteger(this.#batch) || this.#batch < 1) {
      throw new IdempotencyConfigError(
        `sweepBatchSize must be a positive integer, got ${this.#batch}`,
      );
    }
    this.#logger = options.logger ?? silentLogger;
    this.#prefix =
      options.prepare === false
        ? undefined
        : `idemkit_${createHash("sha256").update(this.table).digest("hex").slice(0, 12)}_`;

    const interval =
      options.sweepInterval === false
        ? 0
        : parseDuration(
            options.sweepInterval ?? POSTGRES_DEFAULTS.sweepInterval,
            "sweepInterval",
          );
    if (interval > 0) {
      this.#timer = setInterval(() => {
        this.sweep().catch((error: unknown) =>
          this.#logger.warn({ err: error }, "idemkit: postgres sweep failed"),
        );
      }, interval);
      this.#timer.unref();
    }
  }

  /**
   * Creates the table (and schema) if needed and applies pending numbered
   * migrations. Idempotent; safe from many processes at once.
   */
  async migrate(): Promise<number[]> {
    return migrate(this.#pool, this.#names);
  }

  /** The migrations' SQL with this store's names, for teams that run their own. */
  migrationSql(): string[] {
    return migrationSql(this.#names);
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const { id } = request;
    const values = [
      toPgText(id.namespace),
      toPgText(id.scope),
      toPgText(id.key),
      request.fingerprint,
      Math.max(1, Math.ceil(request.leaseMs)),
      Math.max(1, Math.ceil(request.ttlMs)),
    ];

    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const result = await this.#query(this.#sql.claim, values, "claim");
      const row = result.rows[0] as RecordRow | undefined;
      if (row !== undefined) return outcomeOf(row, request);
    }
    throw new IdempotencyStoreError(
      `Postgres store: claim of key "${id.key}" found no stable row after ${CLAIM_ROUNDS} rounds`,
    );
  }

  async complete(
    id: RecordId,
    token: number,
    request: CompleteRequest,
  ): Promise<boolean> {
    const values = [
      ...idValues(id),
      token,
      toPgText(request.result),
      Math.ceil(request.ttlMs),
    ];
    return (await this.#query(this.#sql.complete, values, "complete")).rowCount === 1;
  }

  async fail(id: RecordId, token: number, request: FailRequest): Promise<boolean> {
    const values = [
      ...idValues(id),
      token,
      errorToText(request.error),
      request.error.final === true,
      Math.ceil(request.ttlMs),
    ];
    return (await this.#query(this.#sql.fail, values, "fail")).rowCount === 1;
  }

  async extend(id: RecordId, token: number, leaseMs: number): Promise<boolean> {
    const values = [...idValues(id), token, Math.max(1, Math.ceil(leaseMs))];
    return (await this.#query(this.#sql.extend, values, "extend")).rowCount === 1;
  }

  async saveStep(
    id: RecordId,
    token: number,
    name: string,
    value: string,
  ): Promise<boolean> {
    const values = [...idValues(id), token, toPgText(name), toPgText(value)];
    return (await this.#query(this.#sql.saveStep, values, "saveStep")).rowCount === 1;
  }

  async get(id: RecordId): Promise<IdempotencyRecord | undefined> {
    const result = await this.#query(this.#sql.get, idValues(id), "get");
    const row = result.rows[0] as RecordRow | undefined;
    return row === undefined ? undefined : viewOfRow(row);
  }

  async delete(id: RecordId): Promise<boolean> {
    return (await this.#query(this.#sql.delete, idValues(id), "delete")).rowCount === 1;
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    const { text, values, limit } = listQuery(this.#sql.listHead, options);
    const rows = (await this.#query(text, values, "list")).rows as RecordRow[];
    const records = rows.slice(0, limit).map(viewOfRow);
    const last = records[records.length - 1];
    if (rows.length <= limit || last === undefined) return { records };
    const cursor = Buffer.from(
      JSON.stringify([last.namespace, last.scope, last.key]),
    ).toString("base64url");
    return { records, cursor };
  }

  async stats(): Promise<StoreStats> {
    const row = (await this.#query(this.#sql.stats, [], "stats")).rows[0] as Record<
      string,
      string | number
    >;
    return {
      total: Number(row.total),
      inProgress: Number(row.in_progress),
      completed: Number(row.completed),
      failed: Number(row.failed),
      expired: Number(row.expired),
    };
  }

  /** Deletes expired records in batches of `sweepBatchSize`; returns how many. */
  async sweep(): Promise<number> {
    let total = 0;
    // Bounded, so one call cannot run forever while records keep expiring.
    for (let round = 0; round < 1000; round++) {
      const deleted =
        (await this.#query(this.#sql.sweep, [this.#batch], "sweep")).rowCount ?? 0;
      total += deleted;
      if (deleted < this.#batch) break;
    }
    return total;
  }

  /** Stops the sweep timer. The pool is the caller's: the store never ends it. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Runs `operation` inside a database transaction with its idempotency
   * record: the operation's writes (through the client it receives) and the
   * record commit together, so a crash before commit leaves neither, and a
   * duplicate replays the committed result. See `TransactionOptions`.
   *
   * @example
   * ```ts
   * const payment = await store.transaction(req.headers["idempotency-key"], async (tx) => {
   *   await tx.query("UPDATE accounts SET balance = balance - $1 WHERE id = $2", [amount, from]);
   *   await tx.query("UPDATE accounts SET balance = balance + $1 WHERE id = $2", [amount, to]);
   *   return { paymentId: randomUUID(), amount };
   * }, { name: "transfer", payload: req.body });
   * ```
   */
  transaction<T>(
    key: string,
    operation: TransactionalOperation<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new IdempotencyStoreError("The postgres store is closed"));
    }
    let fingerprint: string;
    try {
      fingerprint =
        options.fingerprint ??
        (options.payload === undefined ? "" : hashValue(options.payload));
    } catch (error) {
      return Promise.reject(error);
    }
    const slot = JSON.stringify([
      options.name ?? "default",
      options.scope ?? "",
      key,
      fingerprint,
    ]);
    const running = this.#flights.get(slot);
    if (running !== undefined) return running as Promise<T>;

    const deps = {
      pool: this.#pool,
      sql: this.#sql,
      table: this.table,
      timeoutMs: this.#timeoutMs,
      prefix: this.#prefix,
    };
    const promise = runTransaction(deps, key, operation, { ...options, fingerprint });
    this.#flights.set(slot, promise);
    const forget = () => this.#flights.delete(slot);
    promise.then(forget, forget);
    return promise;
  }

  async #query(text: string, values: unknown[], what: string) {
    if (this.#closed) throw new IdempotencyStoreError("The postgres store is closed");
    let name: string | undefined;
    if (this.#prefix !== undefined && what !== "list") {
      name = this.#statementNames.get(what);
      if (name === undefined) {
        name = this.#prefix + what;
        this.#statementNames.set(what, name);
      }
    }
    return runQuery(this.#pool, text, values, this.#timeoutMs, what, name);
  }
}

function idValues(id: RecordId): string[] {
  return [toPgText(id.namespace), toPgText(id.scope), toPgText(id.key)];
}

/**
 * The outcome from the claim statement's row. An acquired row is the
 * caller's own record. Otherwise the row is the record as it stood, and the
 * checks follow `decideClaim`; a row that looks claimable, or expired, was
 * claimed by someone else at the same moment, so it is reported busy.
 */
function outcomeOf(row: RecordRow, request: ClaimRequest): ClaimOutcome {
  // An acquiring claim clears `error` in the same statement, so the row
  // read back is the new owner's record as is.
  const record = fromRow(row);
  if (row.acquired === true) {
    return { kind: "acquired", record, takenOver: row.taken_over };
  }

  const now = Number(row.now_ms);
  if (isExpired(record, now)) return { kind: "busy", record };
  if (record.fingerprint !== request.fingerprint) return { kind: "mismatch", record };
  if (record.status === "completed") return { kind: "replay", record };
  if (record.status === "failed" && record.error?.final === true) {
    return { kind: "replay", record };
  }
  return { kind: "busy", record };
}
