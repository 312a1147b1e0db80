import { type Duration, parseDuration } from "../../core/duration.js";
import {
  asStoreError,
  IdempotencyConfigError,
  IdempotencyStoreError,
} from "../../core/errors.js";
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
import { withDeadline } from "../deadline.js";
import { connect, type RedisClientLike, type RedisConnection } from "./client-adapter.js";
import { recordKey } from "./key-layout.js";
import { errorJson, recordFromClaim, recordFromHash, text } from "./record-fields.js";
import { countRecords, listRecords, type ScanContext } from "./scan.js";
import { runScript, type ScriptName, scripts } from "./scripts.js";

/**
 * Options of {@link RedisStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = {
 *   client: new Redis(process.env.REDIS_URL!),
 *   prefix: "billing:",
 *   commandTimeout: "500ms",
 * };
 * ```
 */
export interface RedisStoreOptions {
  /**
   * The client to use, created and connected by you: an ioredis `Redis` or
   * `Cluster`, or a node-redis v4+ client or cluster. The store never closes
   * it.
   */
  client: RedisClientLike;
  /**
   * Put in front of every key. Records live at
   * `prefix + namespace + ":" + scope + ":" + key`, the parts encoded.
   * @default "idemkit:"
   */
  prefix?: string | undefined;
  /**
   * The longest any one Redis call may take. Past it the call fails with
   * `IdempotencyStoreError`, even when the client itself would queue the
   * command until the server comes back.
   * @default "2s"
   */
  commandTimeout?: Duration | undefined;
  /** `COUNT` hint of each `SCAN` call in `list` and `stats`. @default 500 */
  scanCount?: number | undefined;
}

const DEFAULTS = {
  prefix: "idemkit:",
  commandTimeout: "2s",
  scanCount: 500,
} as const satisfies Partial<RedisStoreOptions>;

type ClaimKind = "acquired" | "taken_over" | "replay" | "busy" | "mismatch";
const CLAIM_KINDS = new Set<string>([
  "acquired",
  "taken_over",
  "replay",
  "busy",
  "mismatch",
]);

/**
 * A store on Redis, for idemkit across many processes and machines.
 *
 * Each state change is one Lua script on one key, so it is one round trip,
 * atomic, and valid on Redis Cluster. Leases are checked against the
 * server's clock (`TIME`); records expire by Redis's own millisecond TTL,
 * so `sweep()` has nothing to do.
 *
 * @example
 * ```ts
 * import { Redis } from "ioredis";
 * import { idempotent } from "idemkit";
 * import { RedisStore } from "idemkit/redis";
 *
 * const store = new RedisStore({ client: new Redis(process.env.REDIS_URL!) });
 * const charge = idempotent(chargeCard, { store, name: "charge", key: (i) => i.requestId });
 * ```
 */
export class RedisStore implements IdempotencyStore {
  readonly kind = "redis";
  readonly maxResultBytes = undefined;
  /** The key prefix in use. */
  readonly prefix: string;

  readonly #redis: RedisConnection;
  readonly #timeoutMs: number;
  readonly #scanCount: number;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== "object") {
      throw new IdempotencyConfigError("RedisStore needs options with a client");
    }
    this.#redis = connect(options.client);
    this.prefix = options.prefix ?? DEFAULTS.prefix;
    if (typeof this.prefix !== "string") {
      throw new IdempotencyConfigError("prefix must be a string");
    }
    this.#timeoutMs = parseDuration(
      options.commandTimeout ?? DEFAULTS.commandTimeout,
      "commandTimeout",
    );
    if (this.#timeoutMs < 1) {
      throw new IdempotencyConfigError("commandTimeout must be at least 1 ms");
    }
    this.#scanCount = options.scanCount ?? DEFAULTS.scanCount;
    if (!Number.isInteger(this.#scanCount) || this.#scanCount < 1) {
      throw new IdempotencyConfigError("scanCount must be a positive integer");
    }
    scripts();
  }

  async claim(request: ClaimRequest): Promise<ClaimOutcome> {
    const { id } = request;
    const reply = await this.#script("claim", id, [
      request.fingerprint,
      String(request.leaseMs),
      String(request.ttlMs),
    ]);

    const [rawKind, values, hash] = Array.isArray(reply) ? reply : [];
    const kind = text(rawKind);
    if (kind === undefined || !CLAIM_KINDS.has(kind)) {
      throw new IdempotencyStoreError(`Unexpected claim reply for key "${id.key}"`);
    }
    const record = recordFromClaim(id, values, hash);
    switch (kind as ClaimKind) {
      case "acquired":
        return { kind: "acquired", record, takenOver: false };
      case "taken_over":
        return { kind: "acquired", record, takenOver: true };
      default:
        return { kind: kind as "replay" | "busy" | "mismatch", record };
    }
  }

  async complete(
    id: RecordId,
    token: number,
    request: CompleteRequest,
  ): Promise<boolean> {
    const args = [String(token), request.result, String(request.ttlMs)];
    return (await this.#script("complete", id, args)) === 1;
  }

  async fail(id: RecordId, token: number, request: FailRequest): Promise<boolean> {
    const { error } = request;
    const args = [
      String(token),
      errorJson(error),
      error.final ? "1" : "0",
      String(request.ttlMs),
    ];
    return (await this.#script("fail", id, args)) === 1;
  }

  async extend(id: RecordId, token: number, leaseMs: number): Promise<boolean> {
    return (await this.#script("extend", id, [String(token), String(leaseMs)])) === 1;
  }

  async saveStep(
    id: RecordId,
    token: number,
    name: string,
    value: string,
  ): Promise<boolean> {
    return (await this.#script("save-step", id, [String(token), name, value])) === 1;
  }

  async get(id: RecordId): Promise<IdempotencyRecord | undefined> {
    const key = recordKey(this.prefix, id);
    const reply = await this.#call(`get key "${id.key}"`, () =>
      this.#redis.keyed(key, ["HGETALL", key]),
    );
    return recordFromHash(id, reply);
  }

  async delete(id: RecordId): Promise<boolean> {
    return (await this.#script("delete", id, [])) === 1;
  }

  async list(options: ListOptions = {}): Promise<ListPage> {
    this.#assertOpen();
    return listRecords(this.#scanContext(), options);
  }

  async stats(): Promise<StoreStats> {
    this.#assertOpen();
    return countRecords(this.#scanContext());
  }

  /** Redis expires records by itself (`PEXPIREAT`): nothing to sweep. */
  async sweep(): Promise<number> {
    return 0;
  }

  /** Refuses further calls. The client is yours: close it yourself. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  #assertOpen(): void {
    if (this.#closed) throw new IdempotencyStoreError("The Redis store is closed");
  }

  #scanContext(): ScanContext {
    return {
      redis: this.#redis,
      prefix: this.prefix,
      count: this.#scanCount,
      // Each SCAN and HGETALL gets a timeout of its own.
      call: <T>(what: string, run: () => Promise<T>) => this.#call(what, run),
    };
  }

  #script(name: ScriptName, id: RecordId, args: string[]): Promise<unknown> {
    const key = recordKey(this.prefix, id);
    const script = scripts().get(name);
    if (script === undefined) throw new IdempotencyStoreError(`No script ${name}`);
    return this.#call(`${name} key "${id.key}"`, () =>
      runScript((command) => this.#redis.keyed(key, command), script, key, args),
    );
  }

  /**
   * Runs one Redis call under the store's timeout and turns whatever goes
   * wrong (refused connection, timeout, READONLY, a script error) into
   * `IdempotencyStoreError` with the cause attached.
   */
  #call<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(new IdempotencyStoreError("The Redis store is closed"));
    }
    return withDeadline(run, this.#timeoutMs, "Redis", what, (error) =>
      asStoreError(error, `Redis failed (${what})`),
    );
  }
}
