/**
 * The Redis store on a Redis Cluster (three masters of our own), through an
 * ioredis Cluster and a node-redis cluster: the contract suite, and
 * records spread over every master found again by `list` and `stats`.
 */
import { Cluster } from "ioredis";
import { createCluster } from "redis";
import { afterAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { describeStoreContract } from "../../contract/store-contract.js";
import { reportSkip } from "../../support/skips.js";
import { startCluster, type TestCluster } from "./cluster.js";
import { freshPrefix } from "./fixtures.js";

let cluster: TestCluster | undefined;
let skip: string | undefined;
try {
  cluster = await startCluster();
} catch (error) {
  skip = `could not start a Redis Cluster of our own: ${String(error)}`;
  reportSkip("Redis store on Redis Cluster", skip);
}
afterAll(async () => {
  await cluster?.stop();
});

const ports = cluster?.ports ?? [];

async function ioredisCluster() {
  const client = new Cluster(ports.map((port) => ({ host: "127.0.0.1", port })));
  client.on("error", () => {});
  await new Promise((resolve) => client.once("ready", resolve));
  return { client, close: async () => void client.disconnect() };
}

async function nodeRedisCluster() {
  const client = createCluster({
    rootNodes: ports.map((port) => ({ url: `redis://127.0.0.1:${port}` })),
  });
  client.on("error", () => {});
  await client.connect();
  return { client, close: async () => void (await client.close()) };
}

const drivers = [
  ["ioredis Cluster", ioredisCluster],
  ["node-redis cluster", nodeRedisCluster],
] as const;

for (const [name, open] of drivers) {
  describeStoreContract(
    `redis cluster through ${name}`,
    async () => {
      const { client, close } = await open();
      const store = new RedisStore({ client, prefix: freshPrefix("cluster") });
      return { store, teardown: close };
    },
    { skip, nativeExpiry: true },
  );

  describe.skipIf(skip !== undefined)(`RedisStore on a cluster through ${name}`, () => {
    it("lists and counts records spread over every master", async () => {
      const { client, close } = await open();
      const store = new RedisStore({ client, prefix: freshPrefix("spread") });
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      for (const key of keys) {
        await store.claim({
          id: { namespace: "spread", scope: "", key },
          fingerprint: "",
          leaseMs: 5_000,
          ttlMs: 60_000,
        });
      }

      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.list({ limit: 25, cursor });
        listed.push(...page.records.map((r) => r.key));
        cursor = page.cursor;
      } while (cursor !== undefined);
      const stats = await store.stats();

      expect(listed.sort()).toEqual([...keys].sort());
      expect(stats).toMatchObject({ total: 60, inProgress: 60 });
      await close();
    });
  });
}
