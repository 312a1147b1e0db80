/**
 * One API server process for the cross-process tests. Argument: JSON with
 * the framework and either a Redis store (url, key prefix, counter key) or
 * a SQLite file (path, counter file). POST /charge counts each real run
 * outside the store (Redis INCR, or a line appended to the counter file),
 * takes 500 ms, and answers 201. Prints `{"port": n}` once listening;
 * exits on SIGTERM.
 */

import { appendFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { idempotency as expressIdempotency } from "../../../src/http/express/index.js";
import { idempotency as fastifyIdempotency } from "../../../src/http/fastify/index.js";
import type { IdempotencyStore } from "../../../src/stores/contract.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { SqliteStore } from "../../../src/stores/sqlite/index.js";
import { openClient } from "../../stores/redis/fixtures.js";

type Job =
  | {
      store: "redis";
      url: string;
      prefix: string;
      counter: string;
      framework: "express" | "fastify";
    }
  | {
      store: "sqlite";
      path: string;
      counterFile: string;
      framework: "express" | "fastify";
    };

const job = JSON.parse(process.argv[2] as string) as Job;
let store: IdempotencyStore;
let count: () => Promise<number | string>;
let closeStore: () => Promise<void>;
if (job.store === "redis") {
  const redis = await openClient("ioredis", job.url);
  store = new RedisStore({ client: redis.client, prefix: job.prefix });
  count = async () => Number(await redis.command(["INCR", job.counter]));
  closeStore = () => redis.close();
} else {
  // An in-process store: owners record their response in the same tick,
  // and the file's lock is all the two processes share.
  store = new SqliteStore({ path: job.path });
  let runs = 0;
  count = async () => {
    const run = `${process.pid}:${++runs}`;
    appendFileSync(job.counterFile, `${run}\n`);
    return run;
  };
  closeStore = () => store.close();
}
const options = { store, lease: "10s" as const };

async function charge(body: unknown): Promise<object> {
  const n = await count();
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
  await closeStore();
  process.exit(0);
});
