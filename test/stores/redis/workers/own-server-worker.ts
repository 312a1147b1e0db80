/**
 * Starts a redis-server through the test support, prints its url only
 * once it answers, and exits without stopping it: the support's exit hook
 * must take it down.
 */
import { pingRedis, startRedisServer } from "../../../support/redis.js";

const server = await startRedisServer();
if (!(await pingRedis(server.url))) process.exit(1);
process.stdout.write(`${server.url}\n`);
process.exit(0);
