/**
 * One API server process for the cross-process test. Argument: JSON with
 * the Redis url, the store's key prefix, the counter key and the framework.
 * POST /charge counts each real run with Redis INCR (outside the store),
 * takes 500 ms, and answers 201. Prints `{"port": n}` once listening;
 * exits on SIGTERM.
 */

import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { idempotency as expressIdempotency } from "../../../src/http/express/index.js";
import { idempotency as fastifyIdempotency } from "../../../src/http/fastify/index.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { openClient } from "../../stores/redis/fixtures.js";

interface Job {
  url: string;
  prefix: string;
  counter: string;
  framework: "express" | "fastify";
}

const job = JSON.parse(process.argv[2] as string) as Job;
const redis = await openClient("ioredis", job.url);
const store = new RedisStore({ client: redis.client, prefix: job.prefix });
const options = { store, lease: "10s" as const };

async function charge(body: unknown): Promise<object> {
  const n = Number(await redis.command(["INCR", job.counter]));
  await new Promise((resolve) => setTimeout(resolve, 500));
  return { charged: body, run: n, pid: process.pid };
}

let port: number;
let close: () => Promise<void>;
if (job.framework === "express") {
  const app = express();
  app.use(express.json());
  app.use(expressIdempotency(options));
  app.post("/charge", async (req, res) => {
    res.status(201).json(await charge(req.body));
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  port = (server.address() as AddressInfo).port;
  close = () => new Promise((resolve) => server.close(() => resolve()));
} else {
  const app = Fastify();
  await app.register(fastifyIdempotency(options));
  app.post("/charge", async (req, reply) => reply.code(201).send(await charge(req.body)));
  await app.listen({ port: 0, host: "127.0.0.1" });
  port = (app.server.address() as AddressInfo).port;
  close = () => app.close();
}

process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once("SIGTERM", async () => {
  await close();
  await redis.close();
  process.exit(0);
});
