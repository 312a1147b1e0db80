/**
 * The idempotency record: what a store keeps per (namespace, scope, key),
 * and the small value types that travel with it.
 */

/**
 * `in_progress`, `completed` and `failed` are stored; `expired` is what
 * `get()` and `list()` report for a record past `expiresAt` that no sweep
 * has removed yet (a claim treats it as absent).
 */
export type RecordStatus = "in_progress" | "completed" | "failed" | "expired";

/** Where a record lives. Keys never match across namespaces or scopes. */
export interface RecordId {
  /** The operation's name; keeps equal keys of different operations apart. */
  readonly namespace: string;
  /** Who the key belongs to (tenant, user, client); `""` when unscoped. */
  readonly scope: string;
  /** The caller's key, 1..255 printable ASCII characters. */
  readonly key: string;
}

/** A failure as stored: enough to rethrow an equivalent error. */
export interface StoredError {
  readonly name: string;
  readonly message: string;
  readonly code?: string | undefined;
  /** True when `cacheError` marked the failure final: duplicates replay it. */
  readonly final: boolean;
}

/**
 * One stored record. `get` and `list` return copies. A claim outcome's
 * record is a snapshot to read at once: an in-process store may hand out
 * its own object and settle it later in place. Never change one.
 */
export interface IdempotencyRecord extends RecordId {
  /** SHA-256 of the canonical payload; `""` when fingerprinting is off. */
  readonly fingerprint: string;
  readonly status: RecordStatus;
  /**
   * Fencing token. It grows on every (re)claim and is drawn from the store's
   * clock in microseconds (never less than the previous token + 1), so a
   * record created again after expiry never reuses a token that a stale
   * owner might still hold.
   */
  readonly token: number;
  /** While `in_progress`: the owner's lease (epoch ms). */
  readonly leaseUntil: number;
  /** How many times the operation has been started under this key. */
  readonly attempts: number;
  /** The encoded result envelope, once completed (see `result-envelope.ts`). */
  readonly result?: string | undefined;
  /** The failure, once failed. */
  readonly error?: StoredError | undefined;
  /** Results of finished recovery steps, by step name (encoded). */
  readonly steps: Readonly<Record<string, string>>;
  readonly createdAt: number;
  readonly completedAt?: number | undefined;
  readonly expiresAt: number;
}

/** The fields of a record that a transition may change. */
export type RecordChanges = {
  -readonly [K in keyof Omit<IdempotencyRecord, keyof RecordId>]?: IdempotencyRecord[K];
};

/**
 * A copy of `record` with `changes` applied; a key present in `changes`
 * with the value `undefined` clears that field.
 *
 * Every field is written out by hand: on the V8 in Node 20, an object
 * spread followed by more properties takes a slow path that costs
 * microseconds per call, which is most of a memory-store claim.
 */
export function updateRecord(
  record: IdempotencyRecord,
  changes: RecordChanges,
): IdempotencyRecord {
  return {
    namespace: record.namespace,
    scope: record.scope,
    key: record.key,
    fingerprint: "fingerprint" in changes ? changes.fingerprint! : record.fingerprint,
    status: "status" in changes ? changes.status! : record.status,
    token: "token" in changes ? changes.token! : record.token,
    leaseUntil: "leaseUntil" in changes ? changes.leaseUntil! : record.leaseUntil,
    attempts: "attempts" in changes ? changes.attempts! : record.attempts,
    result: "result" in changes ? changes.result : record.result,
    error: "error" in changes ? changes.error : record.error,
    steps: "steps" in changes ? changes.steps! : record.steps,
    createdAt: "createdAt" in changes ? changes.createdAt! : record.createdAt,
    completedAt: "completedAt" in changes ? changes.completedAt : record.completedAt,
    expiresAt: "expiresAt" in changes ? changes.expiresAt! : record.expiresAt,
  };
}

/**
 * One string per record id, for in-process maps (the memory store, the
 * engine's in-flight calls). The length prefixes make it unambiguous: no
 * two ids, whatever their characters, give the same string.
 */
export function slotOf(id: RecordId): string {
  return `${id.namespace.length}:${id.namespace}${id.scope.length}:${id.scope}${id.key}`;
}
