/**
 * `idemkit/fastify`: the Idempotency-Key protocol as a Fastify plugin
 * (Fastify 4 and 5). Its hooks apply to every route of the instance it is
 * registered on:
 *
 * - `onRequest`: method and header checks, declared body size (before
 *   Fastify parses the body).
 * - `preHandler`: claims the key with the parsed body; a duplicate is
 *   answered here and the handler never runs.
 * - `onSend`: records the owner's serialised payload and holds it until
 *   the record is written, so a retry sent after the answer replays it. A
 *   stream payload goes out chunk by chunk as it is produced, copied up to
 *   `maxResponseBytes` on the way; its end waits for the record, which holds
 *   the whole body when it fit and a not-replayable marker when it did not.
 *
 * A response that bypassed `onSend` (a hijacked reply) is recorded as not
 * replayable when its connection closes after its headers went out, so its key is not left in
 * progress. (A `close` listener costs less per request than an
 * `onResponse` hook, which makes Fastify watch every response's stream.)
 */
import { type Readable, Transform } from "node:stream";
import {
  type NodeHeaders,
  nodeRequestView,
  pickHeaders,
  replyHeaders,
} from "../node-headers.js";
import type { HttpIdempotencyOptions, RequestView } from "../options.js";
import type { HttpReply } from "../problem.js";
import { IdempotencyProtocol, type Step } from "../protocol.js";
import { type ResponseHead, StreamRecorder } from "../recorder.js";

/** The parts of a Fastify request the plugin reads. */
export interface FastifyRequestLike {
  readonly method: string;
  readonly url: string;
  readonly headers: NodeHeaders;
  readonly body?: unknown;
}

// The request decoration that carries the protocol's state from hook to
// hook (a decorated field keeps Fastify's request objects one shape).
const STATE = "idemkitState";

/** The parts of a Fastify reply the plugin writes. */
export interface FastifyReplyLike {
  readonly statusCode: number;
  code(status: number): unknown;
  header(name: string, value: string | string[]): unknown;
  getHeader(name: string): unknown;
  send(payload?: unknown): unknown;
  readonly raw: {
    readonly headersSent: boolean;
    once(event: "close", listener: () => void): unknown;
  };
}

/** The completion callback of a Fastify `onRequest` or `preHandler` hook. */
export type HookDone = (error?: Error) => void;

/** The completion callback of a Fastify `onSend` hook. */
export type SendHookDone = (error?: Error | null, payload?: unknown) => void;

/** The parts of a Fastify instance the plugin uses. */
export interface FastifyInstanceLike {
  hasRequestDecorator(name: string): boolean;
  decorateRequest(name: string, value: null): unknown;
  addHook(
    name: "onRequest" | "preHandler",
    hook: (request: FastifyRequestLike, reply: FastifyReplyLike, done: HookDone) => void,
  ): unknown;
  addHook(
    name: "onSend",
    hook: (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      payload: unknown,
      done: SendHookDone,
    ) => void,
  ): unknown;
}

type RunStep = Extract<Step, { kind: "run" }>;

interface Pending {
  readonly view: RequestView;
  readonly key: string;
  step?: RunStep | undefined;
}

/**
 * A Fastify plugin for the Idempotency-Key protocol. It is not
 * encapsulated: registered on an instance, it covers all of its routes.
 *
 * @example
 * ```ts
 * import Fastify from "fastify";
 * import { idempotency } from "idemkit/fastify";
 * import { MemoryStore } from "idemkit";
 *
 * const app = Fastify();
 * await app.register(idempotency({ store: new MemoryStore() }));
 * app.post("/orders", async (req, reply) => reply.code(201).send(createOrder(req.body)));
 * ```
 */
export function idempotency(
  options: HttpIdempotencyOptions,
): (instance: FastifyInstanceLike, opts: unknown) => Promise<void> {
  const protocol = new IdempotencyProtocol(options);
  const { replayHeaders, maxResponseBytes } = protocol.settings;
  const state = (request: FastifyRequestLike) =>
    (request as unknown as Record<typeof STATE, Pending | null>)[STATE];
  const setState = (request: FastifyRequestLike, value: Pending | null): void => {
    (request as unknown as Record<typeof STATE, Pending | null>)[STATE] = value;
  };

  const plugin = async (instance: FastifyInstanceLike): Promise<void> => {
    if (!instance.hasRequestDecorator(STATE)) instance.decorateRequest(STATE, null);

    // Callback hooks, not async ones: an async hook costs Fastify a promise
    // and a microtask per request even when it has nothing to wait for, and
    // the first two hooks decide synchronously for every request without a key.
    instance.addHook("onRequest", (request, reply, done) => {
      const view = nodeRequestView(request.method, request.url, request.headers);
      const inspection = protocol.inspect(view);
      if (inspection.kind === "reply") {
        send(reply, inspection.reply);
        return;
      }
      if (inspection.kind === "key") setState(request, { view, key: inspection.key });
      done();
    });

    instance.addHook("preHandler", (request, reply, done) => {
      const entry = state(request);
      if (entry === null) {
        done();
        return;
      }
      protocol.execute(entry.view, entry.key, request.body).then(
        (step) => {
          if (step.kind === "run") {
            entry.step = step;
            watchHijack(request, reply, entry, step);
            done();
            return;
          }
          setState(request, null);
          if (step.kind === "reply") send(reply, step.reply);
          else done();
        },
        done as (error: unknown) => void,
      );
    });

    instance.addHook("onSend", (request, reply, payload, done) => {
      const step = state(request)?.step;
      if (step === undefined) {
        done(null, payload);
        return;
      }
      setState(request, null);
      const status = reply.statusCode;
      const headers = pickHeaders(replayHeaders, (name) => reply.getHeader(name));
      if (isReadable(payload)) {
        const head = { status, headers };
        done(null, recordingStream(payload, step, head, maxResponseBytes));
        return;
      }
      const written = step.finish({
        status,
        headers,
        body: payloadBytes(payload),
        unavailableReason: "The response was neither bytes, text nor a stream",
      });
      // Written already (an in-process store): the reply goes out in this
      // tick, so it is sent by the time the handler's promise settles.
      if (written === undefined) done(null, payload);
      else written.then(() => done(null, payload));
    });

    /**
     * Headers out without onSend: a hijacked reply. No headers yet: the
     * client left while the handler works; onSend still comes.
     */
    const watchHijack = (
      request: FastifyRequestLike,
      reply: FastifyReplyLike,
      entry: Pending,
      step: RunStep,
    ): void => {
      reply.raw.once("close", () => {
        if (state(request) !== entry || !reply.raw.headersSent) return;
        setState(request, null);
        void step.finish({
          status: reply.statusCode,
          headers: [],
          body: undefined,
          unavailableReason: "The response was sent outside Fastify's reply",
        });
      });
    };
  };

  // Fastify reads these to skip encapsulation (so the hooks reach the
  // routes of the instance it is registered on) and to name the plugin.
  Object.assign(plugin, {
    [Symbol.for("skip-override")]: true,
    [Symbol.for("fastify.display-name")]: "idemkit",
  });
  return plugin;
}

function send(reply: FastifyReplyLike, value: HttpReply): FastifyReplyLike {
  const headers = replyHeaders(value, (name) => reply.getHeader(name));
  reply.code(value.status);
  for (const [name, header] of Object.entries(headers)) reply.header(name, header);
  reply.send(Buffer.from(value.body.buffer, value.body.byteOffset, value.body.length));
  return reply;
}

/**
 * The owner's stream payload, passed on chunk by chunk through a recorder;
 * its end waits for the record.
 */
function recordingStream(
  source: Readable,
  step: RunStep,
  head: ResponseHead,
  limit: number,
): Transform {
  const recorder = new StreamRecorder(step, limit);
  const out = new Transform({
    transform(chunk: Buffer | string, _encoding, callback) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      recorder.add(bytes);
      callback(null, bytes);
    },
    flush(callback) {
      const written = recorder.end(head);
      if (written === undefined) callback();
      else written.then(() => callback());
    },
  });
  source.once("error", (error) => {
    recorder.broken(error);
    out.destroy(error);
  });
  out.once("close", () =>
    recorder.cut(head, "The client left before the response ended"),
  );
  source.pipe(out);
  return out;
}

function isReadable(payload: unknown): payload is Readable {
  return (
    payload !== null &&
    typeof payload === "object" &&
    typeof (payload as Readable).pipe === "function" &&
    typeof (payload as Readable).on === "function"
  );
}

function payloadBytes(payload: unknown): Uint8Array | undefined {
  if (payload === undefined || payload === null) return new Uint8Array(0);
  if (typeof payload === "string") return Buffer.from(payload);
  if (payload instanceof Uint8Array) return payload;
  return undefined;
}
