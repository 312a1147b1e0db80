/**
 * The Redis store when Redis misbehaves. Every test here runs against a
 * throwaway `redis-server` of its own on a free port (never the machine's
 * shared one), because the tests stop it, flush its scripts, or make it a
 * read-only replica.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Idempotency, IdempotencyStoreError } from "../../../src/index.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { recordKey } from "../../../src/stores/redis/key-layout.js";
import { scripts } from "../../../src/stores/redis/scripts.js";
import { type OwnedRedisServer, startRedisServer } from "../../support/redis.js";
import { reportSkip } from "../../support/skips.js";
import { DRIVERS, freshPrefix, openClient, type TestClient } from "./fixtures.js";

let server: OwnedRedisServer | undefined;
let skip: string | undefined;
try {
  server = await startRedisServer();
} catch (error) {
  skip = `could not start a redis-server of our own: ${String(error)}`;
  reportSkip("Redis store failure tests", skip);
}

const claimOf = (key: string) => ({
  id: { namespace: "failures", scope: "", key },
  fingerprint: "",
  leaseMs: 5_000,
  ttlMs: 60_000,
});

describe.skipIf(skip !== undefined)("RedisStore when Redis fails", () => {
  afterAll(async () => {
    await server?.stop();
  });

  for (const driver of DRIVERS) {
    it(`fails fast with IdempotencyStoreError while Redis is down, and recovers (${driver})`, async () => {
      const own = server as OwnedRedisServer;
      // A client that would queue commands forever while disconnected.
      const client = await openClient(driver, own.url, { maxRetriesPerRequest: null });
      const store = new RedisStore({
        client: client.client,
        prefix: freshPrefix(`down-${driver}`),
        commandTimeout: 300,
      });
      const idem = new Idempotency({ store });
      let runs = 0;
      const op = async () => ++runs;
      expect(await idem.run("before", op)).toBe(1);

      await own.stop("SIGKILL");
      const started = Date.now();
      const down = await idem.run("while-down", op).catch((error: unknown) => error);
      const elapsed = Date.now() - started;
      const get = await store.get(claimOf("x").id).catch((error: unknown) => error);

      expect(down).toBeInstanceOf(IdempotencyStoreError);
      expect(get).toBeInstanceOf(IdempotencyStoreError);
      expect(elapsed).toBeLessThan(1_500);
      expect(runs).toBe(1);

      await own.restart();
      let after: unknown;
      for (let i = 0; i < 100 && typeof after !== "number"; i++) {
        after = await idem.run(`after-${i}`, op).catch((error: unknown) => error);
        if (typeof after !== "number") await new Promise((r) => setTimeout(r, 100));
      }

      expect(after).toBe(2);
      await client.close();
    }, 30_000);
  }

  describe("with a live server", () => {
    let client: TestClient;
    let store: RedisStore;
    const prefix = freshPrefix("failures");

    beforeAll(async () => {
      if (!server?.running) await server?.restart();
      client = await openClient("ioredis", (server as OwnedRedisServer).url);
      store = new RedisStore({ client: client.client, prefix, commandTimeout: 1_000 });
    });

    afterAll(async () => {
      await client?.close();
    });

    it("reloads its scripts after the server forgot them (NOSCRIPT)", async () => {
      await store.claim(claimOf("before-flush"));
      const sha = scripts().get("claim")?.sha as string;
      const cached = await client.command(["SCRIPT", "EXISTS", sha]);

      await client.command(["SCRIPT", "FLUSH"]);
      const outcome = await store.claim(claimOf("after-flush"));

      expect(cached).toEqual([1]);
      expect(outcome.kind).toBe("acquired");
      expect(await client.command(["SCRIPT", "EXISTS", sha])).toEqual([1]);
    });

    it("reports a script error (a key of the wrong type) as IdempotencyStoreError", async () => {
      const request = claimOf("wrong-type");
      await client.command(["SET", recordKey(prefix, request.id), "not a hash"]);

      const error = await store.claim(request).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(IdempotencyStoreError);
      expect(String((error as Error).cause)).toMatch(/WRONGTYPE/);
    });

    it("reports READONLY from a replica as IdempotencyStoreError", async () => {
      const own = server as OwnedRedisServer;
      const replica = await startRedisServer([
        "--replicaof",
        "127.0.0.1",
        String(own.port),
      ]);
      const replicaClient = await openClient("node-redis", replica.url);
      const onReplica = new RedisStore({ client: replicaClient.client, prefix });

      const error = await onReplica.claim(claimOf("read-only")).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(IdempotencyStoreError);
      expect(String((error as Error).cause)).toMatch(/READONLY/);
      await replicaClient.close();
      await replica.stop();
    });

    it("refuses calls once closed", async () => {
      const closed = new RedisStore({ client: client.client, prefix });
      await closed.close();

      await expect(closed.claim(claimOf("closed"))).rejects.toBeInstanceOf(
        IdempotencyStoreError,
      );
    });

    it("rejects a bad client, timeout or scan count when constructed", () => {
      expect(() => new RedisStore({ client: {} as never })).toThrow(/client/);
      expect(() => new RedisStore({ client: client.client, commandTimeout: 0 })).toThrow(
        /commandTimeout/,
      );
      expect(() => new RedisStore({ client: client.client, scanCount: 0 })).toThrow(
        /scanCount/,
      );
    });
  });
});
