/**
 * `idemkit/redis`: the Redis store. The Redis driver (ioredis or
 * node-redis) is an optional peer dependency; this subpath never imports
 * it, it only uses the client you pass in.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { RedisStore } from "idemkit/redis";
 *
 * const client = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * const store = new RedisStore({ client, prefix: "payments:" });
 * ```
 */
export type {
  IoredisLike,
  NodeRedisClientLike,
  NodeRedisClusterLike,
  RedisClientLike,
} from "./client-adapter.js";
export { RedisStore, type RedisStoreOptions } from "./redis-store.js";
