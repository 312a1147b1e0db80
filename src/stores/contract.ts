/**
 * The store contract: the few semantic operations every store implements.
 * Each state change is one atomic operation on the store (one round trip on
 * a remote store). Durations are passed, never absolute times: each store
 * reads its own clock (Redis `TIME`, Postgres `now()`), so clock skew between
 * application hosts cannot break a lease.
 *
 * Every store passes the shared suite in `test/contract/`.
 */
import type {
  IdempotencyRecord,
  RecordId,
  RecordStatus,
  StoredError,
} from "../core/record.js";

/** What `claim` is asked to do. */
export interface ClaimRequest {
  readonly id: RecordId;
  readonly fingerprint: string;
  /** Lease for a new owner, in ms. */
  readonly leaseMs: number;
  /** Retention of the record, in ms from now. */
  readonly ttlMs: number;
}

/**
 * The outcome of one atomic claim, decided in this order:
 *
 * 1. no record, or an expired one        → `acquired` (fresh record, attempts 1)
 * 2. fingerprint differs                 → `mismatch` (whatever the status)
 * 3. `completed`                         → `replay`
 * 4. `failed`, final                     → `replay`
 * 5. `failed`, retryable                 → `acquired` (attempts + 1, new token)
 * 6. `in_progress`, lease live           → `busy`
 * 7. `in_progress`, lease expired        → `acquired`, `takenOver` (attempts + 1)
 *
 * `record` is the record after the claim (for `acquired`, the caller's own),
 * to be read at once: an in-process store may settle the same object later.
 */
export type ClaimOutcome =
  | {
      readonly kind: "acquired";
      readonly record: IdempotencyRecord;
      readonly takenOver: boolean;
    }
  | { readonly kind: "replay"; readonly record: IdempotencyRecord }
  | { readonly kind: "busy"; readonly record: IdempotencyRecord }
  | { readonly kind: "mismatch"; readonly record: IdempotencyRecord };

/** What `complete` stores. */
export interface CompleteRequest {
  /** The encoded result envelope. */
  readonly result: string;
  /** Retention from now, in ms. */
  readonly ttlMs: number;
}

/** What `fail` stores. */
export interface FailRequest {
  readonly error: StoredError;
  /** Retention from now, in ms. */
  readonly ttlMs: number;
}

/** Filters for `list`. */
export interface ListOptions {
  readonly namespace?: string | undefined;
  readonly scope?: string | undefined;
  readonly status?: RecordStatus | undefined;
  /** At most this many records per page. @default 100 */
  readonly limit?: number | undefined;
  /** Opaque cursor from the previous page. */
  readonly cursor?: string | undefined;
}

/** One page of `list`. */
export interface ListPage {
  readonly records: IdempotencyRecord[];
  /** Present when there may be more records. */
  readonly cursor?: string | undefined;
}

/** Counts per status. `expired` counts records past expiry not yet swept. */
export interface StoreStats {
  readonly total: number;
  readonly inProgress: number;
  readonly completed: number;
  readonly failed: number;
  readonly expired: number;
}

/**
 * The contract every store implements.
 *
 * Fenced operations (`complete`, `fail`, `extend`, `saveStep`) change the
 * record only while it is `in_progress` and still holds `token`; they return
 * `false` and change nothing otherwise, so a stale owner can never overwrite
 * a newer owner's record.
 */
export interface IdempotencyStore {
  /** A short name for logs and errors, such as `"memory"` or `"redis"`. */
  readonly kind: string;
  /** The largest encoded result the store accepts, in bytes, if it has a limit. */
  readonly maxResultBytes?: number | undefined;

  claim(request: ClaimRequest): Promise<ClaimOutcome>;
  /**
   * Optional, for stores in the process (memory, SQLite): `claim` answered
   * synchronously. The engine then settles replays without a promise hop of
   * its own. It must behave exactly as `claim`.
   */
  claimSync?(request: ClaimRequest): ClaimOutcome;
  /** Optional, like `claimSync`: `complete` answered synchronously. */
  completeSync?(id: RecordId, token: number, request: CompleteRequest): boolean;
  complete(id: RecordId, token: number, request: CompleteRequest): Promise<boolean>;
  fail(id: RecordId, token: number, request: FailRequest): Promise<boolean>;
  /** Renews the owner's lease to `leaseMs` from now. */
  extend(id: RecordId, token: number, leaseMs: number): Promise<boolean>;
  /** Records a finished recovery step's encoded result under the operation. */
  saveStep(id: RecordId, token: number, name: string, value: string): Promise<boolean>;
  get(id: RecordId): Promise<IdempotencyRecord | undefined>;
  delete(id: RecordId): Promise<boolean>;
  list(options?: ListOptions): Promise<ListPage>;
  stats(): Promise<StoreStats>;
  /** Removes expired records now; returns how many. */
  sweep(): Promise<number>;
  /** Stops timers and releases what the store opened itself. */
  close(): Promise<void>;
}
