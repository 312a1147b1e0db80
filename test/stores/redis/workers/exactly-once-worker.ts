/**
 * One process of the exactly-once race. Argument: JSON with the Redis url,
 * the driver, the key prefix, the counter key prefix, a start time, and how
 * many calls over how many keys. Every real execution bumps a Redis counter
 * (INCR, outside the store); stdout gets every caller's result as JSON.
 */
import { randomUUID } from "node:crypto";
import { idempotent } from "../../../../src/index.js";
import { RedisStore } from "../../../../src/stores/redis/index.js";
import { type Driver, openClient } from "../fixtures.js";

interface Job {
  url: string;
  driver: Driver;
  prefix: string;
  counter: string;
  startAt: number;
  calls: number;
  keys: number;
}

const job = JSON.parse(process.argv[2] as string) as Job;
const client = await openClient(job.driver, job.url);

// Four stores over one client: calls through different stores do not share
// the in-process single flight, so they race in Redis itself.
const runs = Array.from({ length: 4 }, () => {
  const store = new RedisStore({ client: client.client, prefix: job.prefix });
  return idempotent(
    async (key: string) => {
      await client.command(["INCR", `${job.counter}${key}`]);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
      return { key, pid: process.pid, nonce: randomUUID() };
    },
    { store, name: "exactly-once", key: (key) => key, lease: "10s", waitTimeout: "20s" },
  );
});

await new Promise((resolve) =>
  setTimeout(resolve, Math.max(0, job.startAt - Date.now())),
);
const results = await Promise.all(
  Array.from({ length: job.calls }, (_, i) => runs[i % 4]!(`k${i % job.keys}`)),
);
process.stdout.write(JSON.stringify(results));
await client.close();
