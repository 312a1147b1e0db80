import { AsyncLocalStorage } from "node:async_hooks";
import type { IdempotencyStore } from "../stores/contract.js";
import type { Codec } from "./codec.js";
import {
  asStoreError,
  IdempotencyLeaseLostError,
  IdempotencyStepError,
} from "./errors.js";
import type { RecordId } from "./record.js";

/**
 * What a running operation can know about its own execution.
 *
 * @example
 * ```ts
 * await idem.run(key, async (ctx) => {
 *   if (ctx.attempt > 1) await reconcileWithGateway(key); // a take-over
 *   const charge = await ctx.step("charge", () => gateway.charge(input, { signal: ctx.signal }));
 *   return ctx.step("receipt", () => mailer.sendReceipt(charge));
 * });
 * ```
 */
export interface IdempotencyContext {
  /** The record this execution owns. */
  readonly id: RecordId;
  /** 1 on the first run; more after a retryable failure or a take-over. */
  readonly attempt: number;
  /** The fencing token this execution holds. */
  readonly token: number;
  /** Aborted, with `IdempotencyLeaseLostError`, when the lease is lost. */
  readonly signal: AbortSignal;
  /**
   * Runs `fn` once per operation key, as a recovery point: its result is
   * stored under the operation before the call returns, and a later
   * attempt (after a crash or a retryable failure) gets the stored result
   * instead of running `fn` again. Names must be unique within one
   * operation; results must be encodable by the codec.
   */
  step<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
}

const storage = new AsyncLocalStorage<IdempotencyContext>();

/**
 * The context of the idempotent operation running in this async call chain,
 * or `undefined` outside one. Lets wrapped functions keep their signature.
 *
 * @example
 * ```ts
 * const charge = idempotent(async (input: ChargeInput) => {
 *   const ctx = getIdempotencyContext();
 *   if (ctx && ctx.attempt > 1) await reconcile(input);
 *   return gateway.charge(input);
 * }, { store, name: "charge" });
 * ```
 */
export function getIdempotencyContext(): IdempotencyContext | undefined {
  return storage.getStore();
}

/**
 * `ctx.step()` for the operation running in this call chain; throws
 * `IdempotencyStepError` outside an idempotent operation.
 *
 * @example
 * ```ts
 * const payment = await step("charge", () => gateway.charge(input));
 * ```
 */
export function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const ctx = storage.getStore();
  if (ctx === undefined) {
    return Promise.reject(
      new IdempotencyStepError(
        `step("${name}") was called outside an idempotent operation`,
      ),
    );
  }
  return ctx.step(name, fn);
}

/** Runs `fn` with `ctx` as the current context. */
export function runInContext<T>(ctx: IdempotencyContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** What an {@link OwnerContext} needs from the engine. */
export interface OwnerDeps {
  readonly store: IdempotencyStore;
  readonly codec: Codec;
}

/**
 * The context of an execution that owns its record. The abort controller
 * is made on first use of `signal`, since most operations never read it.
 * It is also what the lease keeper tells when the lease is lost.
 */
export class OwnerContext implements IdempotencyContext {
  readonly id: RecordId;
  readonly attempt: number;
  readonly token: number;
  readonly #deps: OwnerDeps;
  readonly #storedSteps: Readonly<Record<string, string>>;
  #usedSteps: Set<string> | undefined;
  #controller: AbortController | undefined;
  #lostReason: IdempotencyLeaseLostError | undefined;
  readonly #onLost:
    | ((ctx: OwnerContext, error: IdempotencyLeaseLostError) => void)
    | undefined;

  constructor(
    deps: OwnerDeps,
    id: RecordId,
    attempt: number,
    token: number,
    steps: Readonly<Record<string, string>>,
    onLost?: (ctx: OwnerContext, error: IdempotencyLeaseLostError) => void,
  ) {
    this.#deps = deps;
    this.#onLost = onLost;
    this.id = id;
    this.attempt = attempt;
    this.token = token;
    this.#storedSteps = steps;
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#lostReason) this.#controller.abort(this.#lostReason);
    }
    return this.#controller.signal;
  }

  /** True once the lease was lost. */
  get leaseLost(): boolean {
    return this.#lostReason !== undefined;
  }

  /** The lease keeper's report: the lease is gone, for `reason`. */
  onLeaseLost(reason: string): void {
    const error = new IdempotencyLeaseLostError(
      `Lost the lease on key "${this.id.key}": ${reason}`,
    );
    this.loseLease(error);
    this.#onLost?.(this, error);
  }

  /** Marks the lease lost and aborts `signal`. */
  loseLease(reason: IdempotencyLeaseLostError): void {
    if (this.#lostReason) return;
    this.#lostReason = reason;
    this.#controller?.abort(reason);
  }

  async step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
    if (typeof name !== "string" || name.length === 0 || name.length > 255) {
      throw new IdempotencyStepError(
        "A step name must be a string of 1 to 255 characters",
      );
    }
    this.#usedSteps ??= new Set();
    if (this.#usedSteps.has(name)) {
      throw new IdempotencyStepError(
        `Step "${name}" was already used in this operation; step names must be unique`,
      );
    }
    this.#usedSteps.add(name);

    const stored = this.#storedSteps[name];
    if (stored !== undefined) return this.#deps.codec.decode(stored) as T;
    if (this.#lostReason) throw this.#lostReason;

    const value = await fn();
    const text = this.#deps.codec.encode(value);
    let saved: boolean;
    try {
      saved = await this.#deps.store.saveStep(this.id, this.token, name, text);
    } catch (error) {
      throw asStoreError(error, `Could not record step "${name}"`);
    }
    if (!saved) {
      const lost = new IdempotencyLeaseLostError(
        `Step "${name}" finished after this execution lost its lease; its result was not recorded`,
      );
      this.loseLease(lost);
      throw lost;
    }
    return value;
  }
}
