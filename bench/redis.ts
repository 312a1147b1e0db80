/**
 * The Redis store against raw Redis, same server, same client, same run.
 *
 * Throughput at 64 concurrent callers (ops/s):
 *   (a) raw baseline: `SET k v NX PX` then `SET k r PX` (a claim and a
 *       completion done by hand), and `GET` (a replay done by hand);
 *   (b) idemkit first executions, a fresh key per call, and the store's
 *       claim and complete scripts sent by hand on fresh keys (the floor a
 *       first execution cannot beat);
 *   (c) idemkit replays of completed keys, and the store's claim script
 *       sent by hand on the same keys (the floor a replay cannot beat).
 * Then one caller alone: median and p99 latency of a first execution and of
 * a replay, in round trips and microseconds.
 *
 *   node --import tsx bench/redis.ts [--quick] [redis://127.0.0.1:6379]
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { Idempotency } from "../src/index.js";
import { type RedisClientLike, RedisStore } from "../src/stores/redis/index.js";
import { recordKey } from "../src/stores/redis/key-layout.js";
import { scripts } from "../src/stores/redis/scripts.js";
import { measure, median, percentile, printTable } from "./support.js";

const claimSha = scripts().get("claim")?.sha as string;
const completeSha = scripts().get("complete")?.sha as string;

const quick = process.argv.includes("--quick");
const url =
  process.argv.find((arg) => arg.startsWith("redis://")) ?? "redis://127.0.0.1:6379";
const CONCURRENCY = 64;
const OPS = quick ? 6_400 : 16_000;
const ROUNDS = quick ? 3 : 7;
const SOLO = quick ? 500 : 2_000;
const RESULT = { ok: true, amount: 1250, currency: "EUR", id: "ch_123" };
const RESULT_TEXT = JSON.stringify(RESULT);

type Send = (args: string[]) => Promise<unknown>;

interface Driver {
  readonly name: string;
  readonly client: RedisClientLike;
  readonly send: Send;
  close(): Promise<void>;
}

async function ioredis(): Promise<Driver> {
  const client = new Redis(url);
  const send: Send = ([command, ...args]) => client.call(command as string, ...args);
  return { name: "ioredis", client, send, close: async () => void client.disconnect() };
}

async function nodeRedis(): Promise<Driver> {
  const client = createClient({ url });
  await client.connect();
  return {
    name: "node-redis",
    client,
    send: (args) => client.sendCommand(args),
    close: async () => client.destroy(),
  };
}

/** Runs `op(i)` for i in [0, total) with `CONCURRENCY` callers. */
async function concurrently(total: number, op: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < total) await op(next++);
    }),
  );
}

/** A client that counts the commands sent through it. */
function counting(driver: Driver): { client: RedisClientLike; sent: () => number } {
  let sent = 0;
  const send: Send = (args) => {
    sent++;
    return driver.send(args);
  };
  return { client: { sendCommand: send }, sent: () => sent };
}

async function run(driver: Driver, prefix: string): Promise<(string | number)[][]> {
  const { send } = driver;
  const store = new RedisStore({ client: driver.client, prefix });
  const idem = new Idempotency({ store });
  const operation = async () => RESULT;
  const keyOf = (round: number, i: number) => `${round}-${i}`;

  // Warm up the scripts and the connection.
  await concurrently(2_000, (i) => idem.run(`warm-${i}`, operation));

  // The four workloads take turns round by round, so a burst of load on
  // the machine hits them alike; each figure is the median of its rounds.
  const rates: number[][] = [[], [], [], [], [], []];
  const rate = async (slot: number, batch: () => Promise<void>) => {
    (rates[slot] as number[]).push(await measure(1, OPS, batch));
  };
  for (let round = 0; round < ROUNDS; round++) {
    await rate(0, () =>
      concurrently(OPS, async (i) => {
        const key = `${prefix}raw:${keyOf(round, i)}`;
        await send(["SET", key, "in_progress", "NX", "PX", "30000"]);
        await send(["SET", key, RESULT_TEXT, "PX", "86400000"]);
      }),
    );
    await rate(1, () =>
      concurrently(OPS, (i) => idem.run(`first-${keyOf(round, i)}`, operation)),
    );
    await rate(2, () =>
      concurrently(OPS, (i) => send(["GET", `${prefix}raw:${keyOf(0, i)}`])),
    );
    await rate(3, () =>
      concurrently(OPS, (i) => idem.run(`first-${keyOf(0, i)}`, operation)),
    );
    // The store's floor for a replay: its claim script sent by hand.
    await rate(4, () =>
      concurrently(OPS, (i) =>
        send([
          "EVALSHA",
          claimSha,
          "1",
          recordKey(prefix, {
            namespace: "default",
            scope: "",
            key: `first-${keyOf(0, i)}`,
          }),
          "",
          "30000",
          "86400000",
        ]),
      ),
    );
    // The store's floor for a first execution: its two scripts by hand.
    await rate(5, () =>
      concurrently(OPS, async (i) => {
        const key = recordKey(prefix, {
          namespace: "default",
          scope: "",
          key: `hand-${keyOf(round, i)}`,
        });
        const reply = (await send([
          "EVALSHA",
          claimSha,
          "1",
          key,
          "",
          "30000",
          "86400000",
        ])) as [string, [string]];
        const token = reply[1][0].split(" ", 2)[1] as string;
        await send(["EVALSHA", completeSha, "1", key, token, RESULT_TEXT, "86400000"]);
      }),
    );
  }
  const [rawClaims, firsts, rawGets, replays, scriptOnly, scriptsFirst] = rates.map(
    median,
  ) as [number, number, number, number, number, number];

  return [
    [driver.name, "raw SET NX PX + SET", rawClaims, "1.00×"],
    [
      driver.name,
      "idemkit first execution",
      firsts,
      `${(firsts / rawClaims).toFixed(2)}×`,
    ],
    [
      driver.name,
      "claim + complete scripts alone, by hand (first execution)",
      scriptsFirst,
      `${(scriptsFirst / rawClaims).toFixed(2)}×`,
    ],
    [driver.name, "raw GET", rawGets, "1.00×"],
    [driver.name, "idemkit replay", replays, `${(replays / rawGets).toFixed(2)}×`],
    [
      driver.name,
      "claim script alone, by hand (replay)",
      scriptOnly,
      `${(scriptOnly / rawGets).toFixed(2)}×`,
    ],
  ];
}

async function solo(driver: Driver, prefix: string): Promise<(string | number)[][]> {
  const counter = counting(driver);
  const store = new RedisStore({ client: counter.client, prefix: `${prefix}solo:` });
  const idem = new Idempotency({ store });
  const operation = async () => RESULT;
  const timed = async (label: string, call: (i: number) => Promise<unknown>) => {
    const micros: number[] = [];
    const before = counter.sent();
    for (let i = 0; i < SOLO; i++) {
      const started = process.hrtime.bigint();
      await call(i);
      micros.push(Number(process.hrtime.bigint() - started) / 1_000);
    }
    const trips = (counter.sent() - before) / SOLO;
    return [driver.name, label, trips, median(micros), percentile(micros, 99)];
  };

  await timed("warm-up", (i) => idem.run(`warm-${i}`, operation));
  return [
    await timed("first execution", (i) => idem.run(`k-${i}`, operation)),
    await timed("replay", (i) => idem.run(`k-${i}`, operation)),
  ];
}

async function dropPrefix(send: Send, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = (await send([
      "SCAN",
      cursor,
      "MATCH",
      `${prefix}*`,
      "COUNT",
      "1000",
    ])) as [string, string[]];
    if (keys.length > 0) await send(["UNLINK", ...keys]);
    cursor = String(next);
  } while (cursor !== "0");
}

const throughput: (string | number)[][] = [];
const latency: (string | number)[][] = [];
for (const open of [ioredis, nodeRedis]) {
  const driver = await open();
  const prefix = `idemkit-bench:${randomUUID().slice(0, 8)}:`;
  try {
    throughput.push(...(await run(driver, prefix)));
    latency.push(...(await solo(driver, prefix)));
  } finally {
    await dropPrefix(driver.send, prefix);
    await driver.close();
  }
}

console.log(
  `\nRedis at ${url}, ${CONCURRENCY} concurrent callers, ${OPS} ops per round, median of ${ROUNDS} rounds\n`,
);
printTable(["client", "workload", "ops/s", "vs raw"], throughput);
console.log(`\nOne caller alone, ${SOLO} calls each\n`);
printTable(["client", "call", "round trips", "median µs", "p99 µs"], latency);
