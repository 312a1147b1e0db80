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
 *   `finish()` resolves once the record is written, so an adapter that waits
 *   for it before ending the response guarantees that a retry sent after
 *   the answer arrived replays it.
 *
 * Duplicates in one process share the owner's promise inside the engine;
 * the `ran` flag of each call tells the owner (its operation ran) from the
 * duplicates (it did not), which get a replay built from the stored value.
 */
import { Idempotency } from "../core/engine.js";
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
      /** Records what was sent; resolves once the record is written. */
      finish(captured: CapturedResponse): Promise<void>;
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

  constructor(options: HttpIdempotencyOptions) {
    this.settings = normalizeHttpOptions(options);
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
        {
          name: settings.name,
          scope,
          fingerprint,
          keepResult: (stored) => settings.storeStatus(stored.status),
        },
      );
      written = run.then(noop, (error: unknown) => {
        if (ran) this.#logOwnerFailure(key, error);
      });

      run.then(
        (stored) => {
          if (ran) return;
          if (!isStoredResponse(stored)) return resolveStep(reply(corrupt(key)));
          // A duplicate that joined the running owner in this process shares
          // its result even when it was not stored (a 5xx); the replay mark
          // is then left off, so a client knows that a retry runs again.
          const kept = settings.storeStatus(stored.status);
          resolveStep(reply(replayOf(stored, cors, kept)));
        },
        (error: unknown) => {
          if (!ran) resolveStep(reply(errorReply(error, settings.busyRetryAfterMs)));
        },
      );
    });
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
