/**
 * The engine: claim → run with a heartbeat → fenced complete or fail.
 *
 * Races it is built for (A and B are callers with the same key):
 *
 * - A and B in one process: B joins A's promise (single flight) and never
 *   touches the store.
 * - A and B in two processes: the store's claim is atomic, so exactly one
 *   acquires; the other sees `busy` and waits (or rejects).
 * - A crashes: its lease runs out; B's claim takes over with a higher token
 *   and `attempt` 2.
 * - A is only slow, and B took over: A's complete is fenced by its old
 *   token and changes nothing; A hears `lease_lost`.
 * - A's result cannot be stored: the record completes with a marker, so B
 *   gets `IdempotencyResultUnavailableError` instead of a second execution.
 */
import type { ClaimOutcome, ClaimRequest, IdempotencyStore } from "../stores/contract.js";
import { hashValue } from "./canonical.js";
import { type IdempotencyContext, OwnerContext, runInContext } from "./context.js";
import { claimError, inProgressError, reuseError } from "./engine-errors.js";
import {
  asStoreError,
  IdempotencyConfigError,
  IdempotencyLeaseLostError,
} from "./errors.js";
import {
  CHANNELS,
  emit,
  type IdempotencyEvent,
  type IdempotencyEventType,
} from "./events.js";
import { type KeptLease, LeaseKeeper } from "./heartbeat.js";
import { validateKey, validateName, validateScope } from "./keys.js";
import {
  type EngineSettings,
  type ExecutionOptions,
  type ExecutionSettings,
  hasExecutionOverrides,
  type IdempotencyOptions,
  mergeExecution,
  normalizeEngineOptions,
} from "./options.js";
import { replayOutcome, sealResult, toStoredError } from "./outcomes.js";
import {
  type IdempotencyRecord,
  type RecordId,
  type StoredError,
  slotOf,
} from "./record.js";
import { countEvent, telemetryEnabled, traced } from "./telemetry.js";
import { type WrapOptions, wrapWith } from "./wrap.js";

/** Per-call options of {@link Idempotency.run}. */
export interface RunOptions<T = unknown> extends ExecutionOptions {
  /** The operation's name: records of different names never meet. @default "default" */
  name?: string | undefined;
  /** Who the key belongs to. @default "" */
  scope?: string | undefined;
  /**
   * The request the key stands for. Its SHA-256 fingerprint is stored; a
   * later call with the same key and a different payload throws
   * `IdempotencyKeyReuseError`. Omit it to skip the check.
   */
  payload?: unknown;
  /**
   * A fingerprint computed by the caller (say, over an HTTP method, path and
   * body hash); used as is instead of hashing `payload`.
   */
  fingerprint?: string | undefined;
  /**
   * Decides whether a successful result is kept for replay. A result it
   * declines is returned to this caller but not stored: the record becomes a
   * retryable failure, so the next duplicate runs the operation again (an
   * HTTP 5xx response, for example).
   * @default every result is kept
   */
  keepResult?: ((value: T) => boolean) | undefined;
}

/** The operation `run` executes. */
export type Operation<T> = (ctx: IdempotencyContext) => T | Promise<T>;

/**
 * What {@link Idempotency.claimNow} found: this caller owns the key, or
 * the call is already settled (a replay, or a mismatch).
 * @internal
 */
export type HeldClaim<T> =
  | {
      readonly kind: "owner";
      /** Records the result; see {@link Idempotency.claimNow}. */
      succeed(value: T): T | Promise<T>;
      /** Records the failure; resolves once it is written (or logged). */
      fail(error: unknown): Promise<void>;
    }
  /** A replay or a mismatch: what `run` would have returned. */
  | { readonly kind: "settled"; readonly result: Promise<T> };

/** The longest retry hint a busy key gives (`retryAfterMs`). */
const BUSY_RETRY_HINT_MS = 1_000;

interface Flight {
  readonly fingerprint: string;
  /** Set right after the claim starts; a duplicate only reads it later. */
  promise: Promise<unknown> | undefined;
}

/** What an owner holds while its operation runs. */
interface Ownership {
  readonly id: RecordId;
  readonly token: number;
  readonly attempt: number;
  readonly ctx: OwnerContext;
  readonly heartbeat: KeptLease | undefined;
}

// Executions in flight, per store, so every engine over one store in this
// process coalesces duplicates onto one promise.
const flightsByStore = new WeakMap<IdempotencyStore, Map<string, Flight>>();

function flightsOf(store: IdempotencyStore): Map<string, Flight> {
  let flights = flightsByStore.get(store);
  if (flights === undefined) {
    flights = new Map();
    flightsByStore.set(store, flights);
  }
  return flights;
}

/**
 * One configured idempotency engine over a store.
 *
 * @example
 * ```ts
 * import { Idempotency, MemoryStore } from "idemkit";
 *
 * const idem = new Idempotency({ store: new MemoryStore(), ttl: "24h" });
 * const receipt = await idem.run(req.headers["idempotency-key"], async (ctx) => {
 *   return payments.charge(req.body);
 * }, { name: "charge", payload: req.body, scope: user.id });
 * ```
 */
export class Idempotency {
  readonly settings: EngineSettings;
  readonly #flights: Map<string, Flight>;
  readonly #leases = new LeaseKeeper();

  /** What an owner's lost lease sets off: an event and a warning. */
  readonly #onLeaseLost = (ctx: OwnerContext, error: IdempotencyLeaseLostError): void => {
    const { id, attempt, token } = ctx;
    this.#emit({ type: "lease_lost", id, attempt, token, error });
    this.settings.logger.warn(
      { id, attempt, reason: error.message },
      "idemkit: lease lost while running",
    );
  };

  constructor(options: IdempotencyOptions) {
    this.settings = normalizeEngineOptions(options);
    this.#flights = flightsOf(this.settings.store);
  }

  /** The store this engine uses. */
  get store(): IdempotencyStore {
    return this.settings.store;
  }

  /**
   * Runs `operation` once for `key`: the first call runs it, duplicates get
   * the first result (or the cached failure).
   */
  run<T>(key: string, operation: Operation<T>, options: RunOptions<T> = {}): Promise<T> {
    try {
      if (typeof operation !== "function") {
        validateKey(key);
        throw new IdempotencyConfigError(
          `The operation must be a function, got ${typeof operation}`,
        );
      }
      const { id, fingerprint, settings } = this.#prepare(key, options);
      return this.execute(id, fingerprint, settings, operation, options.keepResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Claims `key` for a caller that runs the operation itself instead of
   * handing it over as a callback: the HTTP layer, whose handler runs in
   * the framework. Answers only when the store answers at once (an
   * in-process store) and no call of this process holds the key; otherwise
   * returns `undefined`, and the caller uses {@link Idempotency.run}.
   *
   * An owner must call exactly one of `succeed` and `fail`. `succeed`
   * returns the value when the store recorded it at once, else a promise
   * of it, and throws (or rejects with) `IdempotencyStoreError` when it
   * cannot be recorded; duplicates of this process that joined the owner
   * get what `run` would have given them.
   * @internal
   */
  claimNow<T>(key: string, options: RunOptions<T> = {}): HeldClaim<T> | undefined {
    const { store } = this.settings;
    if (store.claimSync === undefined) return undefined;
    const { id, fingerprint, settings } = this.#prepare(key, options);
    const slot = slotOf(id);
    if (this.#flights.has(slot)) return undefined;

    const first = this.#claimAtOnce<T>({
      id,
      fingerprint,
      leaseMs: settings.leaseMs,
      ttlMs: settings.ttlMs,
    });
    if (first instanceof Promise) return { kind: "settled", result: first };
    if (first?.kind !== "acquired") return undefined;

    const owner = this.#begin(first.record, first.takenOver, settings);
    // Duplicates of this process join this promise, as they join `run`'s.
    let resolveFlight!: (value: T) => void;
    let rejectFlight!: (error: unknown) => void;
    const joined = new Promise<T>((resolve, reject) => {
      resolveFlight = resolve;
      rejectFlight = reject;
    });
    joined.catch(() => {}); // the owner hears its own failure; joiners theirs
    const flight: Flight = {
      fingerprint,
      promise: traced(id.namespace, store.kind, joined),
    };
    this.#flights.set(slot, flight);
    const land = (): void => {
      if (this.#flights.get(slot) === flight) this.#flights.delete(slot);
    };

    return {
      kind: "owner",
      succeed: (value) => {
        let settled: T | Promise<T>;
        try {
          settled = this.#settle(owner, value, options.keepResult, settings);
        } catch (error) {
          land();
          rejectFlight(error);
          throw error;
        }
        if (!(settled instanceof Promise)) {
          land();
          resolveFlight(settled);
          return settled;
        }
        return settled.then(
          (kept) => {
            land();
            resolveFlight(kept);
            return kept;
          },
          (error: unknown) => {
            land();
            rejectFlight(error);
            throw error;
          },
        );
      },
      fail: (error) =>
        this.#failOwner(owner, error, settings).then(() => {
          land();
          rejectFlight(error);
        }),
    };
  }

  /**
   * The claim of an in-process store, which answers at once. A replay or a
   * mismatch settles here, as the promise the caller hands back, with no
   * flight and no promise hop of the engine's; any other outcome is the
   * caller's to act on. `undefined` when the store cannot claim at once.
   */
  #claimAtOnce<T>(request: ClaimRequest): ClaimOutcome | Promise<T> | undefined {
    const { store } = this.settings;
    if (store.claimSync === undefined) return undefined;
    const { id } = request;
    let first: ClaimOutcome;
    try {
      first = store.claimSync(request);
    } catch (error) {
      return Promise.reject(claimError(store, id, error));
    }
    if (first.kind === "replay") {
      try {
        return Promise.resolve(this.#replay<T>(first.record));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (first.kind === "mismatch") {
      this.#emit({ type: "mismatch", id });
      return Promise.reject(reuseError(id));
    }
    return first;
  }

  /** Validates a call's key, name and scope, and resolves its settings. */
  #prepare(
    key: string,
    options: RunOptions<never> | RunOptions<unknown>,
  ): { id: RecordId; fingerprint: string; settings: ExecutionSettings } {
    validateKey(key);
    const name = options.name ?? "default";
    validateName(name);
    const scope = options.scope ?? "";
    validateScope(scope);
    const fingerprint =
      options.fingerprint ??
      (options.payload === undefined ? "" : hashValue(options.payload));
    const settings = hasExecutionOverrides(options)
      ? mergeExecution(this.settings.execution, options)
      : this.settings.execution;
    return { id: { namespace: name, scope, key }, fingerprint, settings };
  }

  /**
   * Returns a function with the same signature as `fn` that runs it once
   * per key. Without a `key` option the key is derived from the name, the
   * arguments and the scope.
   *
   * @example
   * ```ts
   * const charge = idem.wrap(chargeCard, { name: "charge", key: (input) => input.requestId });
   * ```
   */
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R,
    options: WrapOptions<A> = {},
  ): (...args: A) => Promise<Awaited<R>> {
    return wrapWith(this, fn, options);
  }

  /**
   * The core of every entry point, with inputs already validated: coalesces
   * same-process duplicates, then claims and runs.
   * @internal
   */
  execute<T>(
    id: RecordId,
    fingerprint: string,
    settings: ExecutionSettings,
    operation: Operation<T>,
    keepResult?: (value: T) => boolean,
  ): Promise<T> {
    const slot = slotOf(id);
    const joined = this.#flights.get(slot);
    if (joined !== undefined) {
      if (joined.fingerprint !== fingerprint) {
        this.#emit({ type: "mismatch", id });
        return Promise.reject(reuseError(id));
      }
      return joined.promise as Promise<T>;
    }

    const { store } = this.settings;
    const request: ClaimRequest = {
      id,
      fingerprint,
      leaseMs: settings.leaseMs,
      ttlMs: settings.ttlMs,
    };

    const first = this.#claimAtOnce<T>(request);
    if (first instanceof Promise) return first;

    // The flight is registered before the claim starts, and removed by the
    // claim's own `finally`, so no extra promise is made per call.
    const flight: Flight = { fingerprint, promise: undefined };
    this.#flights.set(slot, flight);
    // A claim an in-process store granted at once goes straight to the
    // owner's path: one async frame fewer per first execution.
    const running =
      first?.kind === "acquired"
        ? this.#own(
            first.record,
            first.takenOver,
            settings,
            operation,
            keepResult,
            slot,
            flight,
          )
        : this.#claimAndRun(
            slot,
            flight,
            request,
            first,
            settings,
            operation,
            keepResult,
          );
    const promise = traced(id.namespace, store.kind, running);
    flight.promise = promise;
    return promise;
  }

  async #claimAndRun<T>(
    slot: string,
    flight: Flight,
    request: ClaimRequest,
    first: ClaimOutcome | undefined,
    settings: ExecutionSettings,
    operation: Operation<T>,
    keepResult: ((value: T) => boolean) | undefined,
  ): Promise<T> {
    const { store } = this.settings;
    const { id } = request;
    let pending = first;
    let deadline = 0;
    let wait = 5;

    try {
      for (;;) {
        let outcome: ClaimOutcome;
        if (pending !== undefined) {
          outcome = pending;
          pending = undefined;
        } else {
          try {
            outcome = await store.claim(request);
          } catch (error) {
            throw claimError(store, id, error);
          }
        }

        switch (outcome.kind) {
          case "acquired":
            return await this.#own(
              outcome.record,
              outcome.takenOver,
              settings,
              operation,
              keepResult,
            );
          case "replay":
            return this.#replay<T>(outcome.record);
          case "mismatch":
            this.#emit({ type: "mismatch", id });
            throw reuseError(id);
          case "busy": {
            this.#emit({ type: "busy", id, attempt: outcome.record.attempts });
            const now = Date.now();
            // Most owners finish well within their lease; the lease's end is
            // only the worst case (a dead owner). Suggest a short retry.
            const retryAfterMs = clamp(
              outcome.record.leaseUntil - now,
              100,
              BUSY_RETRY_HINT_MS,
            );
            if (settings.onBusy === "reject") throw inProgressError(id, retryAfterMs);
            if (deadline === 0) deadline = now + settings.waitTimeoutMs;
            if (now >= deadline) throw inProgressError(id, retryAfterMs);

            // Capped exponential backoff with jitter, never past the deadline.
            const pause = Math.min(wait * (0.5 + Math.random() / 2), deadline - now);
            wait = Math.min(wait * 2, 500);
            await sleep(pause);
          }
        }
      }
    } finally {
      if (this.#flights.get(slot) === flight) this.#flights.delete(slot);
    }
  }

  /**
   * The owner's path: runs the operation with a heartbeat, then records its
   * outcome, fenced by the token. Given `slot` and `flight`, it also removes
   * the flight when it settles.
   */
  async #own<T>(
    record: IdempotencyRecord,
    takenOver: boolean,
    settings: ExecutionSettings,
    operation: Operation<T>,
    keepResult: ((value: T) => boolean) | undefined,
    slot?: string,
    flight?: Flight,
  ): Promise<T> {
    try {
      const owner = this.#begin(record, takenOver, settings);
      let value: T;
      try {
        value = await (this.settings.asyncContext
          ? runInContext(owner.ctx, () => operation(owner.ctx))
          : operation(owner.ctx));
      } catch (error) {
        await this.#failOwner(owner, error, settings);
        throw error;
      }
      // An in-process store records the result at once: no await then.
      const settled = this.#settle(owner, value, keepResult, settings);
      return settled instanceof Promise ? await settled : settled;
    } finally {
      // Only the fast path of `execute` passes its flight; `#claimAndRun`
      // removes its own.
      if (slot !== undefined && this.#flights.get(slot) === flight)
        this.#flights.delete(slot);
    }
  }

  /** Starts an owner's run: its context, its events and its heartbeat. */
  #begin(
    record: IdempotencyRecord,
    takenOver: boolean,
    settings: ExecutionSettings,
  ): Ownership {
    const { store, logger } = this.settings;
    const id: RecordId = {
      namespace: record.namespace,
      scope: record.scope,
      key: record.key,
    };
    const { token, attempts: attempt } = record;
    const ctx = new OwnerContext(
      this.settings,
      id,
      attempt,
      token,
      record.steps,
      this.#onLeaseLost,
    );

    if (this.#heard("acquired")) this.#emit({ type: "acquired", id, attempt, token });
    else this.#count("acquired");
    if (takenOver) {
      this.#emit({ type: "taken_over", id, attempt, token });
      logger.info(
        { id, attempt },
        "idemkit: took over a key whose owner's lease ran out",
      );
    }

    const heartbeat =
      settings.heartbeatMs > 0
        ? this.#leases.keep(
            {
              store,
              id,
              token,
              leaseMs: settings.leaseMs,
              intervalMs: settings.heartbeatMs,
              logger,
            },
            ctx,
          )
        : undefined;
    return { id, token, attempt, ctx, heartbeat };
  }

  /** The operation threw: stops the heartbeat and records the failure. */
  #failOwner(
    owner: Ownership,
    error: unknown,
    settings: ExecutionSettings,
  ): Promise<void> {
    owner.heartbeat?.stop();
    return this.#recordFailure(owner.id, owner.token, owner.attempt, error, settings);
  }

  /**
   * The operation returned `value`: stops the heartbeat and records the
   * result, fenced by the token. Returns the value itself when the store
   * recorded it at once (an in-process store), else a promise of it; throws
   * (or rejects with) `IdempotencyStoreError` when it cannot be recorded.
   */
  #settle<T>(
    owner: Ownership,
    value: T,
    keepResult: ((value: T) => boolean) | undefined,
    settings: ExecutionSettings,
  ): T | Promise<T> {
    owner.heartbeat?.stop();
    const { id, token, attempt } = owner;
    if (keepResult !== undefined && !keepResult(value)) {
      return this.#release(id, token, attempt, settings).then(() => value);
    }

    const { store, codec, maxResultBytes, logger } = this.settings;
    const sealed = sealResult(codec, value, maxResultBytes, logger, id);
    const completion = { result: sealed, ttlMs: settings.ttlMs };
    if (store.completeSync !== undefined) {
      let stored: boolean;
      try {
        stored = store.completeSync(id, token, completion);
      } catch (error) {
        throw unrecorded(id, error);
      }
      return this.#completed(owner, value, sealed, stored);
    }
    let pending: Promise<boolean>;
    try {
      pending = store.complete(id, token, completion);
    } catch (error) {
      throw unrecorded(id, error);
    }
    return pending.then(
      (stored) => this.#completed(owner, value, sealed, stored),
      (error: unknown) => {
        throw unrecorded(id, error);
      },
    );
  }

  /** After the completion: the events, and a lost lease when it was refused. */
  #completed<T>(owner: Ownership, value: T, sealed: string, stored: boolean): T {
    const { id, token, attempt, ctx } = owner;
    if (!stored) {
      // Without a heartbeat this is where a lost lease is first seen:
      // `ctx.signal` is aborted here too, for work the operation left
      // running.
      const error = new IdempotencyLeaseLostError(
        `Lost the lease on key "${id.key}": its result was not recorded`,
      );
      ctx.loseLease(error);
      this.#emit({ type: "lease_lost", id, attempt, token, error });
      this.settings.logger.warn(
        { id, attempt },
        "idemkit: finished after losing the lease; the newer owner's record is kept",
      );
      return value;
    }
    if (this.#heard("completed")) {
      const unavailable = sealed.charCodeAt(0) === 117 ? sealed.slice(1) : undefined;
      this.#emit({
        type: "completed",
        id,
        attempt,
        token,
        resultUnavailable: unavailable,
      });
    } else this.#count("completed");
    return value;
  }

  async #recordFailure(
    id: RecordId,
    token: number,
    attempt: number,
    error: unknown,
    settings: ExecutionSettings,
  ): Promise<void> {
    const { store, logger } = this.settings;
    let final = false;
    try {
      final = settings.cacheError(error) === true;
    } catch (hookError) {
      logger.error(
        { id, err: hookError },
        "idemkit: cacheError threw; treating the failure as retryable",
      );
    }

    try {
      const stored = await store.fail(id, token, {
        error: toStoredError(error, final),
        ttlMs: settings.ttlMs,
      });
      if (!stored) this.#emit({ type: "lease_lost", id, attempt, token, error });
    } catch (storeError) {
      // The operation's own error is what the caller must see. The record
      // stays in progress until its lease runs out; then it is taken over.
      logger.error(
        { id, err: storeError },
        "idemkit: could not record a failure; the key frees after one lease",
      );
    }
    this.#emit({ type: "failed", id, attempt, token, error });
  }

  /** Gives the key back without storing the result (`keepResult` said no). */
  async #release(
    id: RecordId,
    token: number,
    attempt: number,
    settings: ExecutionSettings,
  ): Promise<void> {
    const error: StoredError = {
      name: "ResultNotKept",
      message: "The result was not kept for replay",
      final: false,
    };
    try {
      await this.settings.store.fail(id, token, { error, ttlMs: settings.ttlMs });
    } catch (storeError) {
      this.settings.logger.error(
        { id, err: storeError },
        "idemkit: could not release a key; it frees after one lease",
      );
    }
    this.#emit({ type: "completed", id, attempt, token, kept: false });
  }

  #replay<T>(record: IdempotencyRecord): T {
    if (this.#heard("replayed")) {
      const id: RecordId = {
        namespace: record.namespace,
        scope: record.scope,
        key: record.key,
      };
      this.#emit({
        type: "replayed",
        id,
        replayedError: record.status === "failed" || undefined,
      });
    } else this.#count("replayed");
    return replayOutcome<T>(record, this.settings.codec);
  }

  /**
   * Whether an `onEvent` hook or a channel subscriber hears events of
   * `type`. The paths every call takes ask first, so an engine nobody
   * listens to builds no event objects; `#count` keeps the metric.
   */
  #heard(type: IdempotencyEventType): boolean {
    return this.settings.onEvent !== undefined || CHANNELS[type].hasSubscribers;
  }

  #count(type: IdempotencyEventType): void {
    if (telemetryEnabled) countEvent(type, this.settings.store.kind);
  }

  #emit(event: Omit<IdempotencyEvent, "store">): void {
    const { onEvent, store } = this.settings;
    if (telemetryEnabled) countEvent(event.type, store.kind);
    if (onEvent === undefined && !CHANNELS[event.type].hasSubscribers) return;
    emit(onEvent, Object.assign({ store: store.kind }, event));
  }
}

function unrecorded(id: RecordId, error: unknown): Error {
  return asStoreError(
    error,
    `The operation ran, but its result could not be recorded for key "${id.key}"`,
  );
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
