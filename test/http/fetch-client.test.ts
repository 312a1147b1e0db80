/**
 * The idempotent fetch client against real servers on 127.0.0.1: a flaky
 * front (503, then a dropped connection after the handler ran) in front of
 * the Hono adapter, and plain servers for the retry rules.
 */
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { afterEach, describe, expect, it } from "vitest";
import { fullJitter, parseRetryAfter } from "../../src/client/backoff.js";
import { createIdempotentFetch, idempotentFetch } from "../../src/client/fetch.js";
import { IdempotencyConfigError } from "../../src/core/errors.js";
import { idempotency } from "../../src/http/hono/index.js";
import { parseIdempotencyKey } from "../../src/http/key-header.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

type Handler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A bare node server whose answer depends on the attempt number. */
async function scripted(
  handler: Handler,
): Promise<{ url: string; keys: string[]; times: number[] }> {
  const keys: string[] = [];
  const times: number[] = [];
  const server: Server = createServer((req, res) => {
    keys.push(String(req.headers["idempotency-key"]));
    times.push(Date.now());
    req.resume();
    req.on("end", () => handler(req, res, keys.length));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, keys, times };
}

describe("idempotentFetch", () => {
  it("survives a 503 and a dropped connection: the third attempt gets the replay, the effect ran once", async () => {
    const store = new MemoryStore();
    const keys: string[] = [];
    let effects = 0;
    const app = new Hono<{ Bindings: { incoming: IncomingMessage } }>();
    app.use("*", async (c, next) => {
      keys.push(c.req.header("idempotency-key") ?? "");
      if (keys.length === 1) return c.text("unavailable", 503);
      await next();
      // The second attempt runs the handler, then loses its answer.
      if (keys.length === 2) c.env.incoming.socket.destroy();
      return undefined;
    });
    app.use("*", idempotency({ store }));
    app.post("/pay", async (c) => {
      effects++;
      return c.json({ paid: await c.req.json(), effects }, 201);
    });
    const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
    await new Promise((resolve) => server.once("listening", resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;

    const res = await idempotentFetch(
      `http://127.0.0.1:${port}/pay`,
      {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ amount: 10 }),
      },
      { baseDelay: 10 },
    );

    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ paid: { amount: 10 }, effects: 1 });
    expect(res.replayed).toBe(true);
    expect(res.attempts).toBe(3);
    expect(effects).toBe(1);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(parseIdempotencyKey(keys[0]!)).toEqual({ ok: true, key: res.idempotencyKey });
    expect(keys[0]).toMatch(/^"[0-9a-f-]{36}"$/);
  });

  it("does not retry a 422", async () => {
    const server = await scripted((_req, res) => {
      res.writeHead(422, { "content-type": "application/problem+json" }).end("{}");
    });

    const res = await idempotentFetch(`${server.url}/x`, { method: "POST", body: "a" });

    expect(res.status).toBe(422);
    expect(res.attempts).toBe(1);
    expect(server.keys).toHaveLength(1);
  });

  it("does not retry a 400 either, and returns a replay as final", async () => {
    const bad = await scripted((_req, res) => res.writeHead(400).end());
    const replayedError = await scripted((_req, res) => {
      res.writeHead(500, { "idempotent-replayed": "true" }).end();
    });

    const a = await idempotentFetch(`${bad.url}/x`, { method: "POST", body: "a" });
    const b = await idempotentFetch(`${replayedError.url}/x`, {
      method: "POST",
      body: "a",
    });

    expect(a.attempts).toBe(1);
    expect(b.attempts).toBe(1);
    expect(b.replayed).toBe(true);
  });

  it("honours Retry-After in seconds on a 429, within tolerance", async () => {
    const server = await scripted((_req, res, attempt) => {
      if (attempt === 1) res.writeHead(429, { "retry-after": "1" }).end();
      else res.writeHead(201).end("ok");
    });

    const res = await idempotentFetch(`${server.url}/x`, { method: "POST", body: "a" });

    expect(res.status).toBe(201);
    const waited = server.times[1]! - server.times[0]!;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(1600);
  });

  it("honours Retry-After as an HTTP date on a 409", async () => {
    const server = await scripted((_req, res, attempt) => {
      const at = new Date(Date.now() + 2000).toUTCString();
      if (attempt === 1) res.writeHead(409, { "retry-after": at }).end();
      else res.writeHead(200).end("ok");
    });

    const res = await idempotentFetch(`${server.url}/x`, { method: "POST", body: "a" });

    expect(res.status).toBe(200);
    // An HTTP date has whole seconds: the wait is between 1 and 2 s.
    const waited = server.times[1]! - server.times[0]!;
    expect(waited).toBeGreaterThanOrEqual(950);
    expect(waited).toBeLessThan(2600);
  });

  it("gives up after maxRetries and returns the last 5xx, calling onRetry before each retry", async () => {
    const server = await scripted((_req, res) => res.writeHead(503).end());
    const retries: number[] = [];

    const res = await idempotentFetch(
      `${server.url}/x`,
      { method: "POST", body: "a" },
      { maxRetries: 2, baseDelay: 5, onRetry: (info) => retries.push(info.attempt) },
    );

    expect(res.status).toBe(503);
    expect(res.attempts).toBe(3);
    expect(retries).toEqual([1, 2]);
    expect(new Set(server.keys).size).toBe(1);
  });

  it("does not start a retry past the deadline", async () => {
    const server = await scripted((_req, res) => {
      res.writeHead(503, { "retry-after": "5" }).end();
    });

    const started = Date.now();
    const res = await idempotentFetch(
      `${server.url}/x`,
      { method: "POST", body: "a" },
      { deadline: "1s" },
    );

    expect(res.status).toBe(503);
    expect(server.keys).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(900);
  });

  it("stops waiting when the caller's signal aborts", async () => {
    const server = await scripted((_req, res) => res.writeHead(503).end());
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("caller gave up")), 100);

    const pending = idempotentFetch(
      `${server.url}/x`,
      { method: "POST", body: "a", signal: controller.signal },
      { baseDelay: "1s", maxDelay: "1s", maxRetries: 10 },
    );

    await expect(pending).rejects.toThrow("caller gave up");
  });

  it("refuses a stream body with IdempotencyConfigError before sending anything", async () => {
    const server = await scripted((_req, res) => res.writeHead(201).end());
    const body = new ReadableStream({
      start(controller) {
        controller.close();
      },
    });

    const pending = idempotentFetch(`${server.url}/x`, {
      method: "POST",
      body,
      duplex: "half",
    } as RequestInit);

    await expect(pending).rejects.toBeInstanceOf(IdempotencyConfigError);
    expect(server.keys).toHaveLength(0);
  });

  it("uses the key given, and the factory's options under per-call overrides", async () => {
    const server = await scripted((_req, res, attempt) => {
      res.writeHead(attempt < 3 ? 500 : 201).end();
    });
    const post = createIdempotentFetch({ key: "order-7", maxRetries: 0, baseDelay: 5 });

    const once = await post(`${server.url}/x`, { method: "POST", body: "a" });
    const retried = await post(
      `${server.url}/x`,
      { method: "POST", body: "a" },
      { maxRetries: 3 },
    );

    expect(once.status).toBe(500);
    expect(retried.status).toBe(201);
    expect(server.keys).toEqual(['"order-7"', '"order-7"', '"order-7"']);
  });

  it("reports the key the caller put in the headers, the one every attempt sent", async () => {
    const server = await scripted((_req, res, attempt) => {
      res.writeHead(attempt < 2 ? 503 : 201).end();
    });
    const retryKeys: string[] = [];

    const res = await idempotentFetch(
      `${server.url}/x`,
      { method: "POST", body: "a", headers: { "Idempotency-Key": '"from-caller"' } },
      { baseDelay: 5, onRetry: (info) => retryKeys.push(info.key) },
    );

    expect(res.status).toBe(201);
    expect(server.keys).toEqual(['"from-caller"', '"from-caller"']);
    expect(res.idempotencyKey).toBe("from-caller");
    expect(retryKeys).toEqual(["from-caller"]);
  });

  it("resends a Request object's body on every attempt", async () => {
    const bodies: string[] = [];
    const server = await scripted((_req, res, attempt) => {
      res.writeHead(attempt === 1 ? 502 : 201).end();
    });
    const request = new Request(`${server.url}/x`, { method: "POST", body: "payload" });

    const res = await idempotentFetch(request, undefined, {
      baseDelay: 5,
      fetch: async (input, init) => {
        bodies.push(await (input as Request).clone().text());
        return fetch(input, init);
      },
    });

    expect(res.status).toBe(201);
    expect(bodies).toEqual(["payload", "payload"]);
  });
});

describe("backoff", () => {
  it("picks full-jitter delays under a doubling, capped ceiling", () => {
    expect(fullJitter(1, 100, 5000, () => 0.999)).toBe(99);
    expect(fullJitter(3, 100, 5000, () => 0.5)).toBe(200);
    expect(fullJitter(20, 100, 5000, () => 0.999)).toBe(4995);
    expect(fullJitter(4, 100, 5000, () => 0)).toBe(0);
  });

  it("reads Retry-After as seconds or an HTTP date, and ignores anything else", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");

    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("1.5", now)).toBeUndefined();
    expect(parseRetryAfter("-3", now)).toBeUndefined();
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
