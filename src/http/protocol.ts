/**
 * The Idempotency-Key protocol, once, for every adapter.
 *
 * An adapter asks `inspect()` whether a request takes part (method, header,
 * declared body size), then `execute()` with the body, and gets a step:
 *
 * - `pass`: no key (and none required), or another method: run the handler
 *   as if idemkit were not there.
 * - `reply`: write this reply (a replay or a problem); the handler does not run.
 * - `run`: this caller owns the key. Run the handler, let its response go out
 *   live, and call `finish()` with what was sent, or `fail()` if it threw.
 *   `finish()` resolves once the record is written (or returns `undefined`
 *   when an in-process store wrote it at once), so an adapter that waits
 *   for it before ending the response guarantees that a retry sent after
 *   the answer arrived replays it. Ending the response in the same tick
 *   when nothing is left to wait for matters: Fastify, for one, does
 *   extra work per request for a reply that is still open when its
 *   handler's promise settles.
 *
 * Duplicates in one process share the owner's promise inside the engine;
 * the `ran` flag of each call tells the owner (its operation ran) from the
 * duplicates (it did not), which get a replay built from the stored value.
 */
import { type HeldClaim, Idempotency } from "../core/engine.js";
import { IdempotencyStoreError } from "../core/errors.js";
import {
  type CapturedResponse,
  isStoredResponse,
  replayOf,
  type StoredResponse,
  toStored,
} from "./captured.js";
import { defaultScope, requestFingerprint } from "./fingerprint.js";
import { parseIdempotencyKey } from "./key-header.js";
import {
  type HttpIdempotencyOptions,
  type HttpSettings,
  normalizeHttpOptions,
  type RequestView,
} from "./options.js";
import { errorReply, type HttpReply, problemReply, tooLargeReply } from "./problem.js";
import { responseCodec } from "./response-codec.js";

/** What `inspect()` decides before the body is read. */
export type Inspection =
  | { readonly kind: "pass" }
  | { readonly kind: "reply"; readonly reply: HttpReply }
  | { readonly kind: "key"; readonly key: string };

/** What the adapter does next; see the module comment. */
export type Step =
  | { readonly kind: "pass" }
  | { readonly kind: "reply"; readonly reply: HttpReply }
  | {
      readonly kind: "run";
      /**
       * Records what was sent; resolves once the record is written, or
       * returns `undefined` when it is written already. Never rejects.
       */
      finish(captured: CapturedResponse): Promise<void> | undefined;
      /** The handler threw: the key becomes free for a retry. */
      fail(error: unknown): void;
    };

const noop = (): void => {};

/**
 * The protocol over one store, with its options normalised once. Adapters
 * build one per middleware instance.
 *
 * @example
 * ```ts
 * const protocol = new IdempotencyProtocol({ store: new MemoryStore() });
 * const inspection = protocol.inspect(view);
 * ```
 */
export class IdempotencyProtocol {
  readonly settings: HttpSettings;
  readonly #engine: Idempotency;
  readonly #keep: (stored: StoredResponse) => boolean;

  constructor(options: HttpIdempotencyOptions) {
    this.settings = normalizeHttpOptions(options);
    const { storeStatus } = this.settings;
    this.#keep = (stored) => storeStatus(stored.status);
    this.#engine = new Idempotency({
      store: options.store,
      ttl: options.ttl,
      lease: options.lease,
      codec: responseCodec,
      logger: options.logger,
      onEvent: options.onEvent,
      onBusy: "reject",
      // Handlers run in the framework's own async context, never inside
      // the engine's operation callback, so there is nothing for
      // AsyncLocalStorage to carry, and its promise hooks cost every request.
      asyncContext: false,
    });
  }

  /** Decides from the method and headers alone whether the protocol applies. */
  inspect(request: RequestView): Inspection {
    const { settings } = this;
    if (!settings.methods.has(request.method)) return { kind: "pass" };

    const header = request.header("idempotency-key");
    if (header === undefined) {
      if (!settings.required) return { kind: "pass" };
      return reply(
        problemReply(
          "IDEMKIT_KEY_MISSING",
          `${request.method} requests need an Idempotency-Key header`,
        ),
      );
    }

    const parsed = parseIdempotencyKey(header);
    if (!parsed.ok) return reply(problemReply("IDEMKIT_KEY_INVALID", parsed.reason));

    const length = Number(request.header("content-length") ?? 0);
    if (length > settings.maxBodyBytes)
      return reply(tooLargeReply(settings.maxBodyBytes));
    return { kind: "key", key: parsed.key };
  }

  /**
   * Claims the key and says what to do. `body` is the request body's
   * bytes, or the value a framework parsed from it. Rejects only when a
   * user hook (`scope`, `fingerprint`) throws.
   */
  async execute(request: RequestView, key: string, body: unknown): Promise<Step> {
    const { settings } = this;
    const fingerprint = requestFingerprint(request, body, settings);
    const scope =
      settings.scope === undefined
        ? defaultScope(request, settings)
        : await settings.scope(request);
    const cors = request.header("origin") !== undefined;
    const runOptions = {
      name: settings.name,
      scope,
      fingerprint,
      keepResult: this.#keep,
    };

    // An in-process store claims at once: the owner then records its
    // response in the same tick it is sent.
    let held: HeldClaim<StoredResponse> | undefined;
    try {
      held = this.#engine.claimNow<StoredResponse>(key, runOptions);
    } catch (error) {
      return reply(errorReply(error, settings.busyRetryAfterMs));
    }
    if (held?.kind === "owner") return this.#ownerStep(key, held);
    if (held?.kind === "settled") return this.#duplicateStep(key, held.result, cors);

    return new Promise<Step>((resolveStep) => {
      let ran = false;
      let written: Promise<void> = Promise.resolve();

      const run = this.#engine.run<StoredResponse>(
        key,
        () => {
          ran = true;
          return new Promise<StoredResponse>((resolve, reject) => {
            resolveStep({
              kind: "run",
              finish: (captured) => {
                resolve(toStored(captured, settings));
                return written;
              },
              fail: reject,
            });
          });
        },
        runOptions,
      );
      written = run.then(noop, (error: unknown) => {
        if (ran) this.#logOwnerFailure(key, error);
      });

      run.then(
        (stored) => {
          if (!ran) resolveStep(this.#duplicateReply(key, stored, cors));
        },
        (error: unknown) => {
          if (!ran) resolveStep(reply(errorReply(error, settings.busyRetryAfterMs)));
        },
      );
    });
  }

  /** The step of an owner whose claim an in-process store granted at once. */
  #ownerStep(
    key: string,
    held: Extract<HeldClaim<StoredResponse>, { kind: "owner" }>,
  ): Step {
    const { settings } = this;
    return {
      kind: "run",
      finish: (captured) => {
        try {
          const settled = held.succeed(toStored(captured, settings));
          if (!(settled instanceof Promise)) return undefined;
          return settled.then(noop, (error: unknown) =>
            this.#logOwnerFailure(key, error),
          );
        } catch (error) {
          this.#logOwnerFailure(key, error);
          return undefined;
        }
      },
      fail: (error) => void held.fail(error),
    };
  }

  /** The step of a call the engine settled without it: a replay or an error. */
  #duplicateStep(
    key: string,
    result: Promise<StoredResponse>,
    cors: boolean,
  ): Promise<Step> {
    return result.then(
      (stored) => this.#duplicateReply(key, stored, cors),
      (error: unknown) => reply(errorReply(error, this.settings.busyRetryAfterMs)),
    );
  }

  #duplicateReply(key: string, stored: unknown, cors: boolean): Step {
    if (!isStoredResponse(stored)) return reply(corrupt(key));
    // A duplicate that joined the running owner in this process shares its
    // result even when it was not stored (a 5xx); the replay mark is then
    // left off, so a client knows that a retry runs again.
    const kept = this.settings.storeStatus(stored.status);
    return reply(replayOf(stored, cors, kept));
  }

  #logOwnerFailure(key: string, error: unknown): void {
    // The handler's own failure reached the client through the framework;
    // only a store failure after it ran is news here.
    if (error instanceof IdempotencyStoreError) {
      this.settings.logger.error(
        { key, err: error },
        "idemkit: the response was sent but could not be recorded",
      );
    }
  }
}

function reply(value: HttpReply): { kind: "reply"; reply: HttpReply } {
  return { kind: "reply", reply: value };
}

function corrupt(key: string): HttpReply {
  return errorReply(
    new IdempotencyStoreError(`The record for key "${key}" does not hold a response`),
  );
}
