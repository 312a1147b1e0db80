/**
 * `idemkit/hono`: the Idempotency-Key protocol as Hono middleware. Hono
 * speaks Web `Request`/`Response`, so this is the Web core with Hono's
 * context around it: the body is read through `c.req` (which caches it for
 * the handler) and the owner's response is recorded from `c.res`.
 */
import type { HttpIdempotencyOptions } from "../options.js";
import { tooLargeReply } from "../problem.js";
import { IdempotencyProtocol } from "../protocol.js";
import { captureWebResponse, toWebResponse, webRequestView } from "../web.js";

/** The parts of a Hono context the middleware uses. */
export interface HonoContextLike {
  readonly req: {
    readonly raw: Request;
    arrayBuffer(): Promise<ArrayBuffer>;
  };
  res: Response;
}

/**
 * Hono middleware for the Idempotency-Key protocol.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { idempotency } from "idemkit/hono";
 * import { MemoryStore } from "idemkit";
 *
 * const app = new Hono();
 * app.use("/orders/*", idempotency({ store: new MemoryStore() }));
 * app.post("/orders", async (c) => c.json(await createOrder(await c.req.json()), 201));
 * ```
 */
export function idempotency(
  options: HttpIdempotencyOptions,
): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | undefined> {
  const protocol = new IdempotencyProtocol(options);
  const { maxBodyBytes, maxResponseBytes } = protocol.settings;

  return async (c, next) => {
    const view = webRequestView(c.req.raw);
    const inspection = protocol.inspect(view);
    if (inspection.kind === "pass") {
      await next();
      return undefined;
    }
    if (inspection.kind === "reply") return toWebResponse(inspection.reply);

    // Hono caches the body, so the handler can still read it in any form.
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.length > maxBodyBytes) return toWebResponse(tooLargeReply(maxBodyBytes));
    const step = await protocol.execute(view, inspection.key, body);
    if (step.kind === "reply") return toWebResponse(step.reply);
    if (step.kind === "pass") {
      await next();
      return undefined;
    }

    try {
      await next();
    } catch (error) {
      step.fail(error);
      throw error;
    }
    c.res = await captureWebResponse(c.res, step, maxResponseBytes);
    return undefined;
  };
}
