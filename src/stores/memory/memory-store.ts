import { type Duration, parseDuration } from "../../core/duration.js";
import { IdempotencyConfigError, IdempotencyStoreError } from "../../core/errors.js";
import {
  type IdempotencyRecord,
  type RecordId,
  slotOf,
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
import { decideClaim, holdsToken, isExpired, reportedStatus } from "../transitions.js";

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most records kept. Past it, the oldest completed or failed records
   * are evicted; an `in_progress` record never is, so the bound can be
   * exceeded while that many operations run at once.
   * @default unbounded
   */
  maxEntries?: number | undefined;
  /**
   * How often expired records are swept. The timer never keeps the process
   * alive and stops on `close()`. `0` turns the timer off.
   * @default "60s"
   */
  sweepInterval?: Duration | undefined;
  /** The clock, in epoch ms. Tests pass a fake one. @default Date.now */
  now?: (() => number) | undefined;
}

const DEFAULT_SWEEP_INTERVAL: Duration = "60s";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * A store in a `Map`: one process, no durability. Lookups are O(1); eviction
 * walks from the oldest record and skips in-progress ones.
 *
 * @example
 * ```ts
 * import { MemoryStore, idempotent } from "idemkit";
 *
 * const store = new MemoryStore({ maxEntries: 10_000 });
 * const sendOnce = idempotent(sendEmail, { store, name: "send-email" });
 * ```
 */
export class MemoryStore implements IdempotencyStore {
  readonly kind = "memory";
  readonly maxResultBytes = undefined;

  // Map iteration follows insertion order; records are re-inserted when they
  // settle, so the head of the map holds the oldest settled records.
  readonly #records = new Map<string, IdempotencyRecord>();
  readonly #maxEntries: number;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? Number.POSITIVE_INFINITY;
    if (!(maxEntries >= 1)) {
      throw new IdempotencyConfigError(
        `maxEntries must be at least 1, got ${maxEntries}`,
      );
    }
    this.#maxEntries = maxEntries;
    this.#now = options.now ?? Date.now;

    const interval = parseDuration(
      options.sweepInterval ?? DEFAULT_SWEEP_INTERVAL,
      "sweepInterval",
    );
    if (interval > 0) {
      this.#timer = setInterval(() => this.#sweepNow(), interval);
      this.#timer.unref();
    }
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    return this.claimSync(request);
  }

  claimSync(request: ClaimRequest): ClaimOutcome {
    this.#assertOpen();
    const slot = slotOf(request.id);
    const outcome = decideClaim(this.#records.get(slot), request, this.#now());
    if (outcome.kind === "acquired") this.#write(slot, outcome.record);
    return outcome;
  }

  async complete(
    id: RecordId,
    token: number,
    request: CompleteRequest,
  ): Promise<boolean> {
    return this.completeSync(id, token, request);
  }

  completeSync(id: RecordId, token: number, request: CompleteRequest): boolean {
    this.#assertOpen();
    const slot = slotOf(id);
    const current = this.#records.get(slot);
    if (!holdsToken(current, token)) return false;

    this.#settleInPlace(slot, current, "completed", request);
    return true;
  }

  async fail(id: RecordId, token: number, request: FailRequest): Promise<boolean> {
    this.#assertOpen();
    const slot = slotOf(id);
    const current = this.#records.get(slot);
    if (!holdsToken(current, token)) return false;

    this.#settleInPlace(slot, current, "failed", request);
    return true;
  }

  async extend(id: RecordId, token: number, leaseMs: number): Promise<boolean> {
    this.#assertOpen();
    const slot = slotOf(id);
    const current = this.#records.get(slot);
    if (!holdsToken(current, token)) return false;

    const leaseUntil = this.#now() + leaseMs;
    this.#records.set(
      slot,
      updateRecord(current, {
        leaseUntil,
        expiresAt: Math.max(current.expiresAt, leaseUntil),
      }),
    );
    return true;
  }

  async saveStep(
    id: RecordId,
    token: number,
    name: string,
    value: string,
  ): Promise<boolean> {
    this.#assertOpen();
    const slot = slotOf(id);
    const current = this.#records.get(slot);
    if (!holdsToken(current, token)) return false;

    const steps = Object.assign({}, current.steps, { [name]: value });
    this.#records.set(slot, updateRecord(current, { steps }));
    return true;
  }

  async get(id: RecordId): Promise<IdempotencyRecord | undefined> {
    this.#assertOpen();
    const record = this.#records.get(slotOf(id));
    return record && this.#view(record);
  }

  async delete(id: RecordId): Promise<boolean> {
    this.#assertOpen();
    return this.#records.delete(slotOf(id));
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    this.#assertOpen();
    const limit = options.limit ?? 100;
    const start = options.cursor === undefined ? 0 : Number(options.cursor);
    const records: IdempotencyRecord[] = [];
    let index = 0;

    for (const record of this.#records.values()) {
      if (index++ < start) continue;
      if (records.length === limit) return { records, cursor: String(index - 1) };
      const view = this.#view(record);
      if (options.namespace !== undefined && view.namespace !== options.namespace)
        continue;
      if (options.scope !== undefined && view.scope !== options.scope) continue;
      if (options.status !== undefined && view.status !== options.status) continue;
      records.push(view);
    }
    return { records };
  }

  async stats(): Promise<StoreStats> {
    this.#assertOpen();
    const now = this.#now();
    const counts = { total: 0, inProgress: 0, completed: 0, failed: 0, expired: 0 };
    for (const record of this.#records.values()) {
      counts.total++;
      const status = reportedStatus(record, now);
      if (status === "in_progress") counts.inProgress++;
      else if (status === "completed") counts.completed++;
      else if (status === "failed") counts.failed++;
      else counts.expired++;
    }
    return counts;
  }

  async sweep(): Promise<number> {
    this.#assertOpen();
    return this.#sweepNow();
  }

  /** Stops the sweep timer; every later call fails with `IdempotencyStoreError`. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** How many records the map holds, expired ones included. */
  get size(): number {
    return this.#records.size;
  }

  #assertOpen(): void {
    if (this.#closed) throw new IdempotencyStoreError("The memory store is closed");
  }

  #view(record: IdempotencyRecord): IdempotencyRecord {
    return updateRecord(record, { status: reportedStatus(record, this.#now()) });
  }

  #write(slot: string, record: IdempotencyRecord): void {
    this.#records.delete(slot);
    this.#records.set(slot, record);
    if (this.#records.size > this.#maxEntries) this.#evict();
  }

  /**
   * Settles the owner's record by changing it in place: the store owns it,
   * and readers outside get copies (`get`, `list`) or read a claim outcome
   * at once. One allocation less per execution, on a map that may hold
   * millions of records. The map's order only serves eviction: with a
   * bound, the settled record moves to the young end.
   */
  #settleInPlace(
    slot: string,
    current: IdempotencyRecord,
    status: "completed" | "failed",
    outcome: CompleteRequest | FailRequest,
  ): void {
    const now = this.#now();
    const record = current as Mutable<IdempotencyRecord>;
    record.status = status;
    record.leaseUntil = 0;
    record.result = (outcome as CompleteRequest).result;
    record.error = (outcome as FailRequest).error;
    record.completedAt = now;
    record.expiresAt = now + outcome.ttlMs;
    if (this.#maxEntries !== Number.POSITIVE_INFINITY) {
      this.#records.delete(slot);
      this.#records.set(slot, record);
    }
  }

  #evict(): void {
    let excess = this.#records.size - this.#maxEntries;
    for (const [slot, record] of this.#records) {
      if (excess <= 0) return;
      if (record.status === "in_progress" && !isExpired(record, this.#now())) continue;
      this.#records.delete(slot);
      excess--;
    }
  }

  #sweepNow(): number {
    const now = this.#now();
    let removed = 0;
    for (const [slot, record] of this.#records) {
      if (!isExpired(record, now)) continue;
      this.#records.delete(slot);
      removed++;
    }
    return removed;
  }
}
