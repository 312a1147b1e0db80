/**
 * The Redis store across OS processes: exactly once under a 4-process race,
 * take-over after SIGKILL, and recovery steps that survive a crash. Workers
 * run with `node --import tsx`; real executions are counted with Redis INCR
 * on keys outside the store's prefix.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Idempotency } from "../../../src/index.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { recordKey } from "../../../src/stores/redis/key-layout.js";
import { redisForTests } from "../../support/redis.js";
import { dropPrefix, freshPrefix, openClient, type TestClient } from "./fixtures.js";
import { type StepsResult, stepsOperation } from "./workers/steps-operation.js";

const redis = await redisForTests("Redis store across processes");
const run = promisify(execFile);
const workers = join(import.meta.dirname, "workers");
const prefix = freshPrefix("processes");
const counter = `${prefix}counter:`;

/** Starts a worker and resolves with it and its first line of output. */
function startWorker(job: object): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(workers, "hold-lease-worker.ts"), JSON.stringify(job)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("worker did not start")), 20_000);
    child.stdout?.on("data", (data) => {
      out += String(data);
      const end = out.indexOf("\n");
      if (end < 0) return;
      clearTimeout(timer);
      resolve({ child, line: out.slice(0, end) });
    });
    child.once("exit", (code) => reject(new Error(`worker exited early (${code})`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGKILL");
  return exited;
}

describe.skipIf(redis.skip !== undefined)("RedisStore across processes", () => {
  let client: TestClient;
  let store: RedisStore;
  const count = async (name: string) =>
    Number((await client.command(["GET", `${counter}${name}`])) ?? 0);

  beforeAll(async () => {
    client = await openClient("ioredis", redis.url as string);
    store = new RedisStore({ client: client.client, prefix });
  });

  afterAll(async () => {
    await dropPrefix(client, prefix);
    await client.close();
  });

  it("runs each of 20 keys once in total for 4 processes x 100 concurrent calls", async () => {
    const startAt = Date.now() + 2_500;
    const jobs = [0, 1, 2, 3].map((i) => ({
      url: redis.url,
      driver: i % 2 === 0 ? "ioredis" : "node-redis",
      prefix,
      counter: `${counter}race:`,
      startAt,
      calls: 100,
      keys: 20,
    }));

    const outputs = await Promise.all(
      jobs.map((job) =>
        run(
          process.execPath,
          [
            "--import",
            "tsx",
            join(workers, "exactly-once-worker.ts"),
            JSON.stringify(job),
          ],
          { timeout: 60_000 },
        ),
      ),
    );

    const results = outputs.flatMap(
      (o) => JSON.parse(o.stdout) as Array<{ key: string; nonce: string }>,
    );
    expect(results).toHaveLength(400);
    for (let k = 0; k < 20; k++) {
      expect(await count(`race:k${k}`)).toBe(1);
      const nonces = new Set(
        results.filter((r) => r.key === `k${k}`).map((r) => r.nonce),
      );
      expect(nonces.size).toBe(1);
    }
  }, 90_000);

  it("takes a key over, as attempt 2, after its owner is killed holding the lease", async () => {
    const key = "killed-owner";
    const { child } = await startWorker({
      url: redis.url,
      driver: "node-redis",
      prefix,
      counter: `${counter}hold:`,
      key,
      lease: 600,
      mode: "hold",
    });
    const id = { namespace: "take-over", scope: "", key };
    const held = await store.get(id);
    const expiry = Number(await client.command(["PTTL", recordKey(prefix, id)]));

    await kill(child);
    const idem = new Idempotency({ store, lease: 600, waitTimeout: "10s" });
    const attempts: number[] = [];
    const value = await idem.run(
      key,
      async (ctx) => {
        attempts.push(ctx.attempt);
        await client.command(["INCR", `${counter}hold:runs`]);
        return "done by the new owner";
      },
      { name: "take-over" },
    );

    expect(held).toMatchObject({ status: "in_progress", attempts: 1 });
    // Even if nobody took over, the key has a Redis expiry of its own.
    expect(expiry).toBeGreaterThan(0);
    expect(value).toBe("done by the new owner");
    expect(attempts).toEqual([2]);
    expect(await count("hold:runs")).toBe(2);
    expect(await store.get(id)).toMatchObject({ status: "completed", attempts: 2 });
  }, 30_000);

  it("runs only the third step when taking over an owner killed after two", async () => {
    const key = "steps-crash";
    const { child, line } = await startWorker({
      url: redis.url,
      driver: "ioredis",
      prefix,
      counter: `${counter}steps:`,
      key,
      lease: 600,
      mode: "steps",
    });
    const before = JSON.parse(line) as Omit<StepsResult, "receipt">;

    await kill(child);
    const idem = new Idempotency({ store, lease: 600, waitTimeout: "10s" });
    const result = await idem.run(
      key,
      stepsOperation(client.command, `${counter}steps:`),
      {
        name: "steps",
      },
    );
    const replay = await idem.run(key, async () => "never runs", { name: "steps" });

    expect(result).toEqual({
      reserve: before.reserve,
      charge: before.charge,
      receipt: expect.stringMatching(/^receipt-/),
    });
    expect(await count("steps:reserve")).toBe(1);
    expect(await count("steps:charge")).toBe(1);
    expect(await count("steps:receipt")).toBe(1);
    expect(replay).toEqual(result);
  }, 30_000);
});
