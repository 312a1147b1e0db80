import { readFileSync } from "node:fs";
import Database from "better-sqlite3";
import { type Duration, parseDuration } from "../../core/duration.js";
import {
  asStoreError,
  IdempotencyConfigError,
  IdempotencyStoreError,
} from "../../core/errors.js";
import {
  type IdempotencyRecord,
  type RecordId,
  type RecordStatus,
  updateRecord,
} from "../../core/record.js";
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
import { decideClaim, isExpired, reportedStatus } from "../transitions.js";
import { fromRow, type RecordRow, toRow } from "./rows.js";
import { SQL } from "./statements.js";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /**
   * The database file, or `":memory:"`. Several processes may share one
   * file: claims run in `BEGIN IMMEDIATE` transactions.
   * @default "idemkit.db"
   */
  path?: string | undefined;
  /**
   * An open better-sqlite3 database to use instead of `path`. The store
   * creates its table in it and leaves it open on `close()`.
   */
  database?: Database.Database | undefined;
  /**
   * SQLite's `synchronous` setting in WAL mode. `NORMAL` survives a process
   * crash but may lose the last commits on a power loss; `FULL` does not.
   * @default "NORMAL"
   */
  synchronous?: "NORMAL" | "FULL" | undefined;
  /** How long a write waits for another process's lock. @default "5s" */
  busyTimeout?: Duration | undefined;
  /** How often expired rows are swept; `0` turns the timer off. @default "60s" */
  sweepInterval?: Duration | undefined;
}

const DEFAULTS = {
  path: "idemkit.db",
  synchronous: "NORMAL",
  busyTimeout: "5s",
  sweepInterval: "60s",
} as const;

const SCHEMA = readFileSync(new URL("./schema.sql", import.meta.url), "utf8");
const SWEEP_BATCH = 1000;

type Statement = Database.Statement<unknown[], RecordRow>;

/**
 * The embedded durable store: one SQLite file in WAL mode, safe for several
 * processes on one machine.
 *
 * @example
 * ```ts
 * import { idempotent } from "idemkit";
 * import { SqliteStore } from "idemkit/sqlite";
 *
 * const store = new SqliteStore({ path: "./idemkit.db" });
 * const createOrder = idempotent(insertOrder, { store, name: "orders", key: (o) => o.requestId });
 * ```
 */
export class SqliteStore implements IdempotencyStore {
  readonly kind = "sqlite";
  readonly maxResultBytes = undefined;

  readonly #db: Database.Database;
  readonly #ownsDb: boolean;
  readonly #select: Statement;
  readonly #upsert: Database.Statement;
  readonly #claimTx: (request: ClaimRequest, now: number) => ClaimOutcome;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SqliteStoreOptions = {}) {
    const synchronous = options.synchronous ?? DEFAULTS.synchronous;
    if (synchronous !== "NORMAL" && synchronous !== "FULL") {
      throw new IdempotencyConfigError(
        `synchronous must be "NORMAL" or "FULL", got ${String(synchronous)}`,
      );
    }
    const busyTimeout = parseDuration(
      options.busyTimeout ?? DEFAULTS.busyTimeout,
      "busyTimeout",
    );
    const sweepInterval = parseDuration(
      options.sweepInterval ?? DEFAULTS.sweepInterval,
      "sweepInterval",
    );

    try {
      this.#db = options.database ?? new Database(options.path ?? DEFAULTS.path);
      this.#ownsDb = options.database === undefined;
      this.#db.pragma(`busy_timeout = ${busyTimeout}`);
      this.#db.pragma("journal_mode = WAL");
      this.#db.pragma(`synchronous = ${synchronous}`);
      this.#db.exec(SCHEMA);
    } catch (error) {
      throw asStoreError(
        error,
        `Could not open the SQLite database "${options.path ?? DEFAULTS.path}"`,
      );
    }

    this.#select = this.#db.prepare(SQL.select);
    this.#upsert = this.#db.prepare(SQL.upsert);
    const claim = this.#db.transaction((request: ClaimRequest, now: number) => {
      const row = this.#select.get(
        request.id.namespace,
        request.id.scope,
        request.id.key,
      );
      const outcome = decideClaim(row && fromRow(row), request, now);
      if (outcome.kind === "acquired") this.#upsert.run(toRow(outcome.record));
      return outcome;
    });
    this.#claimTx = (request, now) => claim.immediate(request, now);

    if (sweepInterval > 0) {
      this.#timer = setInterval(() => this.#sweepQuietly(), sweepInterval);
      this.#timer.unref();
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    return this.claimSync(request);
  }

  claimSync(request: ClaimRequest): ClaimOutcome {
    return this.#guard("claim", () => this.#claimTx(request, Date.now()));
  }

  async complete(
    id: RecordId,
    token: number,
    request: CompleteRequest,
  ): Promise<boolean> {
    return this.completeSync(id, token, request);
  }

  completeSync(id: RecordId, token: number, request: CompleteRequest): boolean {
    return this.#guard("complete", () => {
      const now = Date.now();
      const info = this.#statement(SQL.complete).run(
        request.result,
        now,
        now + request.ttlMs,
        ...keyOf(id),
        token,
      );
      return info.changes === 1;
    });
  }

  async fail(id: RecordId, token: number, request: FailRequest): Promise<boolean> {
    return this.#guard("fail", () => {
      const now = Date.now();
      const error = JSON.stringify(request.error);
      const info = this.#statement(SQL.fail).run(
        error,
        now,
        now + request.ttlMs,
        ...keyOf(id),
        token,
      );
      return info.changes === 1;
    });
  }

  async extend(id: RecordId, token: number, leaseMs: number): Promise<boolean> {
    return this.#guard("extend", () => {
      const leaseUntil = Date.now() + leaseMs;
      const info = this.#statement(SQL.extend).run(
        leaseUntil,
        leaseUntil,
        ...keyOf(id),
        token,
      );
      return info.changes === 1;
    });
  }

  async saveStep(
    id: RecordId,
    token: number,
    name: string,
    value: string,
  ): Promise<boolean> {
    return this.#guard("saveStep", () => {
      // json_set takes a path; quoting the name keeps dots and brackets literal.
      const path = `$.${JSON.stringify(name)}`;
      const info = this.#statement(SQL.saveStep).run(path, value, ...keyOf(id), token);
      return info.changes === 1;
    });
  }

  async get(id: RecordId): Promise<IdempotencyRecord | undefined> {
    return this.#guard("get", () => {
      const row = this.#select.get(...keyOf(id));
      return row && view(fromRow(row), Date.now());
    });
  }

  async delete(id: RecordId): Promise<boolean> {
    return this.#guard(
      "delete",
      () => this.#statement(SQL.delete).run(...keyOf(id)).changes === 1,
    );
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    return this.#guard("list", () => {
      const limit = options.limit ?? 100;
      const after =
        options.cursor === undefined
          ? ["", "", ""]
          : (JSON.parse(options.cursor) as string[]);
      const now = Date.now();
      const rows = this.#statement(SQL.list).all({
        afterNamespace: after[0],
        afterScope: after[1],
        afterKey: after[2],
        first: options.cursor === undefined ? 1 : 0,
        namespace: options.namespace ?? null,
        scope: options.scope ?? null,
        status: storedStatusFilter(options.status),
        now,
        limit: limit + 1,
      }) as RecordRow[];

      const records = rows.slice(0, limit).map((row) => view(fromRow(row), now));
      const matching =
        options.status === undefined
          ? records
          : records.filter((r) => r.status === options.status);
      const last = records[records.length - 1];
      const cursor =
        rows.length > limit && last
          ? JSON.stringify([last.namespace, last.scope, last.key])
          : undefined;
      return { records: matching, cursor };
    });
  }

  async stats(): Promise<StoreStats> {
    return this.#guard("stats", () => {
      const now = Date.now();
      const row = this.#statement(SQL.stats).get({ now }) as Record<
        string,
        number | null
      >;
      return {
        total: row.total ?? 0,
        inProgress: row.in_progress ?? 0,
        completed: row.completed ?? 0,
        failed: row.failed ?? 0,
        expired: row.expired ?? 0,
      };
    });
  }

  async sweep(): Promise<number> {
    return this.#guard("sweep", () => this.#sweepNow());
  }

  /**
   * Stops the sweep timer and closes the database it opened (one passed in
   * as `database` stays open). Every later call fails with
   * `IdempotencyStoreError`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#ownsDb && this.#db.open) this.#db.close();
  }

  #sweepNow(): number {
    const now = Date.now();
    const statement = this.#statement(SQL.sweep);
    let removed = 0;
    for (;;) {
      const changes = statement.run({ now, batch: SWEEP_BATCH }).changes;
      removed += changes;
      if (changes < SWEEP_BATCH) return removed;
    }
  }

  #sweepQuietly(): void {
    try {
      this.#sweepNow();
    } catch {
      // A busy database now is retried at the next tick.
    }
  }

  // Prepared statements are cached by better-sqlite3 per text; keep our own
  // map so each one is compiled once.
  readonly #prepared = new Map<string, Database.Statement>();

  #statement(sql: string): Database.Statement {
    let statement = this.#prepared.get(sql);
    if (statement === undefined) {
      statement = this.#db.prepare(sql);
      this.#prepared.set(sql, statement);
    }
    return statement;
  }

  #guard<T>(operation: string, fn: () => T): T {
    if (this.#closed) {
      throw new IdempotencyStoreError(`SQLite ${operation} failed: the store is closed`);
    }
    try {
      return fn();
    } catch (error) {
      throw asStoreError(error, `SQLite ${operation} failed`);
    }
  }
}

function keyOf(id: RecordId): [string, string, string] {
  return [id.namespace, id.scope, id.key];
}

function view(record: IdempotencyRecord, now: number): IdempotencyRecord {
  return isExpired(record, now)
    ? updateRecord(record, { status: reportedStatus(record, now) })
    : record;
}

/** `expired` is computed, not stored: filter it after reading. */
function storedStatusFilter(status: RecordStatus | undefined): string | null {
  return status === undefined || status === "expired" ? null : status;
}
