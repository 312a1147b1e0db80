/**
 * What the Redis store sends on the wire, through both drivers: every
 * command passes through a recording client, so the tests can pin the
 * round trips of a call (EVALSHA, with EVAL only after NOSCRIPT), the scans
 * (SCAN MATCH, never KEYS), the default key prefix, and that leases follow
 * the server's clock rather than the client's.
 *
 * The NOSCRIPT test flushes the script cache, so it runs against a
 * throwaway `redis-server` of its own, never the machine's shared one.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { RecordId } from "../../../src/core/record.js";
import { Idempotency } from "../../../src/index.js";
import type { NodeRedisClientLike } from "../../../src/stores/redis/client-adapter.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { recordKey } from "../../../src/stores/redis/key-layout.js";
import { scripts } from "../../../src/stores/redis/scripts.js";
import {
  type OwnedRedisServer,
  redisForTests,
  startRedisServer,
} from "../../support/redis.js";
import { reportSkip } from "../../support/skips.js";
import {
  DRIVERS,
  dropPrefix,
  freshPrefix,
  openClient,
  type TestClient,
} from "./fixtures.js";

const redis = await redisForTests("RedisStore on the wire");

let own: OwnedRedisServer | undefined;
let ownSkip: string | undefined = redis.skip;
if (redis.skip === undefined) {
  try {
    own = await startRedisServer();
  } catch (error) {
    ownSkip = `could not start a redis-server of our own: ${String(error)}`;
    reportSkip("RedisStore on the wire, after SCRIPT FLUSH", ownSkip);
  }
}

const TWO_HOURS_MS = 2 * 60 * 60 * 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A node-redis-like client that records every command before sending it. */
interface Recorder {
  readonly client: NodeRedisClientLike;
  /** Returns the commands sent since the last call, and forgets them. */
  take(): string[][];
}

function recording(raw: TestClient): Recorder {
  const sent: string[][] = [];
  return {
    client: {
      sendCommand: (args: string[]) => {
        sent.push([...args]);
        return raw.command(args);
      },
    },
    take: () => sent.splice(0),
  };
}

const scriptBySha = new Map([...scripts().values()].map((s) => [s.sha, s.name]));
const scriptBySource = new Map([...scripts().values()].map((s) => [s.source, s.name]));

/** "EVALSHA claim", "EVAL complete", "SCAN", …: a command in short. */
function named(args: string[]): string {
  const command = (args[0] ?? "").toUpperCase();
  const first = args[1] ?? "";
  if (command === "EVALSHA") return `EVALSHA ${scriptBySha.get(first) ?? "?"}`;
  if (command === "EVAL") return `EVAL ${scriptBySource.get(first) ?? "?"}`;
  return command;
}

/** The server's clock, in epoch ms. */
async function serverNow(client: TestClient): Promise<number> {
  const [seconds, micros] = (await client.command(["TIME"])) as [string, string];
  return Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
}

/** Makes `Date.now()` run two hours ahead of the real clock. */
function skewClientClock() {
  const realNow = Date.now.bind(Date);
  return vi.spyOn(Date, "now").mockImplementation(() => realNow() + TWO_HOURS_MS);
}

describe.skipIf(redis.skip !== undefined)("RedisStore on the wire", () => {
  afterAll(async () => {
    await own?.stop();
  });

  describe.each(DRIVERS)("through %s", (driver) => {
    const prefix = freshPrefix(`wire-${driver}`);
    let raw: TestClient;
    let other: TestClient;
    let recorder: Recorder;
    let store: RedisStore;
    const newId = (key = "k"): RecordId => ({
      namespace: `wire-${randomUUID()}`,
      scope: "",
      key,
    });
    const claimOf = (id: RecordId, leaseMs: number) => ({
      id,
      fingerprint: "fp",
      leaseMs,
      ttlMs: 60_000,
    });

    beforeAll(async () => {
      raw = await openClient(driver, redis.url as string);
      other = await openClient(driver, redis.url as string);
      recorder = recording(raw);
      store = new RedisStore({ client: recorder.client, prefix });
    });

    afterEach(() => {
      vi.restoreAllMocks();
    });

    afterAll(async () => {
      await dropPrefix(other, prefix);
      await raw.close();
      await other.close();
    });

    it("runs a first execution in two EVALSHA round trips and a replay in one", async () => {
      const idem = new Idempotency({ store });
      let runs = 0;
      const operation = async () => ++runs;
      await idem.run(`warm-up-${randomUUID()}`, operation);
      recorder.take();
      const key = `first-${randomUUID()}`;

      const first = await idem.run(key, operation);
      const firstCommands = recorder.take();
      const replay = await idem.run(key, operation);
      const replayCommands = recorder.take();

      expect(first).toBe(2);
      expect(replay).toBe(2);
      expect(runs).toBe(2);
      expect(firstCommands.map(named)).toEqual(["EVALSHA claim", "EVALSHA complete"]);
      expect(replayCommands.map(named)).toEqual(["EVALSHA claim"]);
      for (const command of [...firstCommands, ...replayCommands]) {
        expect(command.slice(2, 4)).toEqual(["1", `${prefix}default::${key}`]);
      }
    });

    it.skipIf(ownSkip !== undefined)(
      "falls back to EVAL once after SCRIPT FLUSH, then goes back to EVALSHA",
      async () => {
        const server = own as OwnedRedisServer;
        const plain = await openClient(driver, server.url);
        const client = await openClient(driver, server.url);
        const flushed = recording(client);
        const idem = new Idempotency({
          store: new RedisStore({ client: flushed.client, prefix }),
        });
        const operation = async () => "done";
        try {
          await idem.run(`warm-up-${randomUUID()}`, operation);
          flushed.take();

          await plain.command(["SCRIPT", "FLUSH"]);
          const afterFlush = await idem.run(`after-flush-${randomUUID()}`, operation);
          const afterFlushCommands = flushed.take();
          const next = await idem.run(`next-${randomUUID()}`, operation);
          const nextCommands = flushed.take();

          expect(afterFlush).toBe("done");
          expect(next).toBe("done");
          expect(afterFlushCommands.map(named)).toEqual([
            "EVALSHA claim",
            "EVAL claim",
            "EVALSHA complete",
            "EVAL complete",
          ]);
          expect(nextCommands.map(named)).toEqual(["EVALSHA claim", "EVALSHA complete"]);
        } finally {
          await dropPrefix(plain, prefix);
          await plain.close();
          await client.close();
        }
      },
    );

    it("lists and counts records with SCAN MATCH on the prefix, never KEYS", async () => {
      const namespace = `wire-scan-${randomUUID()}`;
      for (const key of ["a", "b", "c"]) {
        await store.claim(claimOf({ namespace, scope: "", key }, 5_000));
      }
      recorder.take();

      const page = await store.list({ namespace });
      const listCommands = recorder.take();
      const stats = await store.stats();
      const statsCommands = recorder.take();

      expect(page.records.map((r) => r.key).sort()).toEqual(["a", "b", "c"]);
      expect(stats.total).toBeGreaterThanOrEqual(3);
      for (const commands of [listCommands, statsCommands]) {
        const names = commands.map(named);
        expect(names).not.toContain("KEYS");
        expect(names).toContain("SCAN");
        for (const command of commands.filter((c) => named(c) === "SCAN")) {
          expect(command[2]?.toUpperCase()).toBe("MATCH");
          expect(command[3]?.startsWith(prefix)).toBe(true);
          expect(command[3]?.endsWith("*")).toBe(true);
        }
      }
      const listScan = listCommands.find((c) => named(c) === "SCAN");
      expect(listScan?.[3]).toBe(`${prefix}${namespace}:*`);
      const statsScan = statsCommands.find((c) => named(c) === "SCAN");
      expect(statsScan?.[3]).toBe(`${prefix}*`);
    });

    it('keeps records under "idemkit:" when no prefix is given', async () => {
      const unprefixed = new RedisStore({ client: recorder.client });
      const id = newId();
      const key = `idemkit:${id.namespace}::k`;
      try {
        await unprefixed.claim(claimOf(id, 5_000));

        expect(unprefixed.prefix).toBe("idemkit:");
        expect(recordKey("idemkit:", id)).toBe(key);
        expect(await other.command(["EXISTS", key])).toBe(1);
      } finally {
        // Also where a wrong default would have put it, so nothing leaks.
        await other.command(["DEL", key, recordKey(unprefixed.prefix, id)]);
      }
    });

    it("reports busy while a lease is live by the server's clock, with the client's clock two hours ahead", async () => {
      const second = new RedisStore({ client: other.client, prefix });
      const id = newId();
      const before = await serverNow(other);
      const clock = skewClientClock();
      try {
        const first = await store.claim(claimOf(id, 5_000));
        const again = await second.claim(claimOf(id, 5_000));
        const after = await serverNow(other);

        expect(Date.now() - before).toBeGreaterThan(TWO_HOURS_MS - 60_000);
        expect(first.kind).toBe("acquired");
        expect(again.kind).toBe("busy");
        for (const record of [first.record, again.record]) {
          expect(record.leaseUntil).toBeGreaterThanOrEqual(before + 5_000 - 1_000);
          expect(record.leaseUntil).toBeLessThanOrEqual(after + 5_000 + 1_000);
          expect(record.createdAt).toBeLessThanOrEqual(after + 1_000);
        }
      } finally {
        clock.mockRestore();
      }
    });

    it("takes over a 150 ms lease claimed with a skewed client clock 300 ms later", async () => {
      const second = new RedisStore({ client: other.client, prefix });
      const id = newId();
      const clock = skewClientClock();
      let first: Awaited<ReturnType<RedisStore["claim"]>>;
      try {
        first = await store.claim(claimOf(id, 150));
      } finally {
        clock.mockRestore();
      }
      await sleep(300);

      const later = await second.claim(claimOf(id, 5_000));

      expect(first.kind).toBe("acquired");
      expect(later).toMatchObject({ kind: "acquired", takenOver: true });
      expect(later.record.attempts).toBe(2);
      expect(later.record.token).toBeGreaterThan(first.record.token);
    });
  });
});
