import { RedisStore } from "../../../src/stores/redis/index.js";
import { describeStoreContract } from "../../contract/store-contract.js";
import { redisForTests } from "../../support/redis.js";
import { DRIVERS, dropPrefix, freshPrefix, openClient } from "./fixtures.js";

const redis = await redisForTests(
  "Redis store contract (ioredis 5, node-redis 5 on RESP2 and RESP3, node-redis 4)",
);

for (const driver of [...DRIVERS, "node-redis-resp3", "node-redis-4"] as const) {
  describeStoreContract(
    `redis through ${driver}`,
    async () => {
      const client = await openClient(driver, redis.url as string);
      const prefix = freshPrefix(`contract-${driver}`);
      const store = new RedisStore({ client: client.client, prefix });
      return {
        store,
        teardown: async () => {
          await store.close();
          await dropPrefix(client, prefix);
          await client.close();
        },
      };
    },
    { skip: redis.skip, nativeExpiry: true },
  );
}
