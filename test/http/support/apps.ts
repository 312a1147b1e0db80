/**
 * One test API, built on Express (5 and 4), Fastify (5 and 4) and Hono with
 * the idemkit adapter in front, listening on 127.0.0.1 (ephemeral port). Every route
 * counts its runs, so tests can tell how often a handler really ran.
 *
 * Routes:
 * - POST /orders: 201 JSON `{ id, body }` after 30 ms, with Location, ETag,
 *   Set-Cookie and a non-allow-listed X-Trace header.
 * - POST /flaky: 500 on its first run, 201 after.
 * - POST /big: 200 with a 4 KiB body.
 * - POST /whoami: 201 JSON `{ user, n }` (user = the Authorization header).
 * - POST /slow: 201 after 400 ms.
 * - POST /stream: a chunked text response in three writes.
 * - POST /live: an NDJSON stream that sends its first line, then waits for
 *   the test to call `openLive()` before sending the second.
 * - GET /orders: 200, never under the protocol.
 */
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import express from "express";
import express4 from "express4";
import Fastify from "fastify";
import Fastify4 from "fastify4";
import { Hono } from "hono";
import { idempotency as expressIdempotency } from "../../../src/http/express/index.js";
import { idempotency as fastifyIdempotency } from "../../../src/http/fastify/index.js";
import { idempotency as honoIdempotency } from "../../../src/http/hono/index.js";
import type { HttpIdempotencyOptions } from "../../../src/http/options.js";

export const FRAMEWORKS = [
  "express",
  "fastify",
  "hono",
  "express 4",
  "fastify 4",
] as const;
export type Framework = (typeof FRAMEWORKS)[number];

// The previous major versions run the same app: the adapters are written
// against structural types, and these runs are what shows that they fit.
// Express 4 is typed with Express 5's declarations (the app below uses only
// what both have); Fastify 4 ships its own.
const EXPRESS: Record<"express" | "express 4", typeof express> = {
  express,
  "express 4": express4,
};
const FASTIFY: Record<"fastify" | "fastify 4", typeof Fastify> = {
  fastify: Fastify,
  "fastify 4": Fastify4 as unknown as typeof Fastify,
};

export interface RunningApp {
  readonly url: string;
  /** How often each route's handler ran. */
  readonly runs: Map<string, number>;
  /** Lets the running POST /live send its second line and end. */
  openLive(): void;
  close(): Promise<void>;
}

/** The gate POST /live waits on after its first line. */
function liveGate(): { wait(): Promise<void>; open(): void } {
  let release = (): void => {};
  return {
    wait: () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
    open: () => release(),
  };
}

const BIG = "x".repeat(4096);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function counter(runs: Map<string, number>, route: string): number {
  const n = (runs.get(route) ?? 0) + 1;
  runs.set(route, n);
  return n;
}

/** Starts the test API on `framework` with the given idemkit options. */
export function startApp(
  framework: Framework,
  options: HttpIdempotencyOptions,
): Promise<RunningApp> {
  const runs = new Map<string, number>();
  const live = liveGate();
  if (framework === "express" || framework === "express 4") {
    return startExpress(EXPRESS[framework], options, runs, live);
  }
  if (framework === "fastify" || framework === "fastify 4") {
    return startFastify(FASTIFY[framework], options, runs, live);
  }
  return startHono(options, runs, live);
}

async function startExpress(
  express: typeof import("express"),
  options: HttpIdempotencyOptions,
  runs: Map<string, number>,
  live: ReturnType<typeof liveGate>,
): Promise<RunningApp> {
  const app = express();
  app.use(express.json({ limit: "10mb" }));
  app.use(expressIdempotency(options));
  app.post("/orders", async (req, res) => {
    const n = counter(runs, "orders");
    await sleep(30);
    res.set({ location: `/orders/${n}`, etag: `"v${n}"`, "x-trace": `t${n}` });
    res.cookie("session", `s${n}`);
    res.status(201).json({ id: n, body: req.body });
  });
  app.post("/flaky", (_req, res) => {
    const n = counter(runs, "flaky");
    res.cookie("session", `s${n}`);
    if (n === 1) res.status(500).json({ error: "boom" });
    else res.status(201).json({ id: n });
  });
  app.post("/big", (_req, res) => {
    counter(runs, "big");
    res.status(200).type("text/plain").send(BIG);
  });
  app.post("/whoami", (req, res) => {
    const n = counter(runs, "whoami");
    res.status(201).json({ user: req.headers.authorization ?? null, n });
  });
  app.post("/slow", async (_req, res) => {
    const n = counter(runs, "slow");
    await sleep(400);
    res.status(201).json({ n });
  });
  app.post("/stream", async (_req, res) => {
    const n = counter(runs, "stream");
    res.status(200).type("text/plain");
    for (const part of ["a", "b", `c${n}`]) {
      res.write(part);
      await sleep(5);
    }
    res.end();
  });
  app.post("/live", async (_req, res) => {
    counter(runs, "live");
    res.status(200).type("application/x-ndjson");
    res.write('{"line":1}\n');
    await live.wait();
    res.end('{"line":2}\n');
  });
  app.get("/orders", (_req, res) => {
    res.json({ list: true });
  });

  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    runs,
    openLive: live.open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function startFastify(
  Fastify: typeof import("fastify").default,
  options: HttpIdempotencyOptions,
  runs: Map<string, number>,
  live: ReturnType<typeof liveGate>,
): Promise<RunningApp> {
  const app = Fastify({ bodyLimit: 10 * 1024 * 1024 });
  await app.register(fastifyIdempotency(options));
  app.post("/orders", async (req, reply) => {
    const n = counter(runs, "orders");
    await sleep(30);
    reply.headers({
      location: `/orders/${n}`,
      etag: `"v${n}"`,
      "x-trace": `t${n}`,
      "set-cookie": `session=s${n}`,
    });
    return reply.code(201).send({ id: n, body: req.body });
  });
  app.post("/flaky", async (_req, reply) => {
    const n = counter(runs, "flaky");
    reply.header("set-cookie", `session=s${n}`);
    if (n === 1) return reply.code(500).send({ error: "boom" });
    return reply.code(201).send({ id: n });
  });
  app.post("/big", async (_req, reply) => {
    counter(runs, "big");
    return reply.code(200).type("text/plain").send(BIG);
  });
  app.post("/whoami", async (req, reply) => {
    const n = counter(runs, "whoami");
    return reply.code(201).send({ user: req.headers.authorization ?? null, n });
  });
  app.post("/slow", async (_req, reply) => {
    const n = counter(runs, "slow");
    await sleep(400);
    return reply.code(201).send({ n });
  });
  app.post("/stream", async (_req, reply) => {
    const n = counter(runs, "stream");
    const { Readable } = await import("node:stream");
    return reply
      .code(200)
      .type("text/plain")
      .send(Readable.from(["a", "b", `c${n}`]));
  });
  app.post("/live", async (_req, reply) => {
    counter(runs, "live");
    const { PassThrough } = await import("node:stream");
    const stream = new PassThrough();
    stream.write('{"line":1}\n');
    void live.wait().then(() => stream.end('{"line":2}\n'));
    return reply.code(200).type("application/x-ndjson").send(stream);
  });
  app.get("/orders", async () => ({ list: true }));

  await app.listen({ port: 0, host: "127.0.0.1" });
  const { port } = app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    runs,
    openLive: live.open,
    close: () => app.close(),
  };
}

async function startHono(
  options: HttpIdempotencyOptions,
  runs: Map<string, number>,
  live: ReturnType<typeof liveGate>,
): Promise<RunningApp> {
  const app = new Hono();
  app.use("*", honoIdempotency(options));
  app.post("/orders", async (c) => {
    const n = counter(runs, "orders");
    const body = await c.req.json();
    await sleep(30);
    c.header("location", `/orders/${n}`);
    c.header("etag", `"v${n}"`);
    c.header("x-trace", `t${n}`);
    c.header("set-cookie", `session=s${n}`);
    return c.json({ id: n, body }, 201);
  });
  app.post("/flaky", (c) => {
    const n = counter(runs, "flaky");
    c.header("set-cookie", `session=s${n}`);
    return n === 1 ? c.json({ error: "boom" }, 500) : c.json({ id: n }, 201);
  });
  app.post("/big", (c) => {
    counter(runs, "big");
    return c.text(BIG, 200);
  });
  app.post("/whoami", (c) => {
    const n = counter(runs, "whoami");
    return c.json({ user: c.req.header("authorization") ?? null, n }, 201);
  });
  app.post("/slow", async (c) => {
    const n = counter(runs, "slow");
    await sleep(400);
    return c.json({ n }, 201);
  });
  app.post("/stream", () => {
    const n = counter(runs, "stream");
    const parts = ["a", "b", `c${n}`];
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const part = parts.shift();
        if (part === undefined) return controller.close();
        await sleep(5);
        controller.enqueue(new TextEncoder().encode(part));
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { "content-type": "text/plain" },
    });
  });
  app.post("/live", () => {
    counter(runs, "live");
    const encoder = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('{"line":1}\n'));
        await live.wait();
        controller.enqueue(encoder.encode('{"line":2}\n'));
        controller.close();
      },
    });
    return new Response(stream, {
      status: 200,
      headers: { "content-type": "application/x-ndjson" },
    });
  });
  app.get("/orders", (c) => c.json({ list: true }));

  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    runs,
    openLive: live.open,
    close: () =>
      new Promise<void>((resolve) => {
        if ("closeAllConnections" in server) server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
