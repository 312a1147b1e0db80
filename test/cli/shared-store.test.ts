import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_URL, serverReachable } from "../support/postgres.js";
import { redisForTests } from "../support/redis.js";
import { reportSkip } from "../support/skips.js";
import { finished, startCli, waitForLine } from "./run-cli.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

const READY = /listening on (http:\/\/127\.0\.0\.1:\d+)/;
const suffix = randomBytes(4).toString("hex");
const redis = await redisForTests("CLI proxy on redis://");
const postgresUp = await serverReachable();
if (!postgresUp) {
  reportSkip("CLI proxy on postgres://", `no Postgres server at ${PG_URL}`);
}

/** Sends until the answer is not 409 (the other proxy still running the key). */
async function postUntilAnswered(url: string, key: string): Promise<Response> {
  for (let i = 0; i < 100; i += 1) {
    const answer = await fetch(`${url}/charges`, {
      method: "POST",
      headers: { "idempotency-key": key, "content-type": "application/json" },
      body: '{"amount":42}',
    });
    if (answer.status !== 409) return answer;
    await answer.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`still 409 after 100 tries for ${key}`);
}

/** Two proxy processes on one store, 25 duplicates sent to each at once. */
function sharedStoreSuite(label: string, storeUrl: () => string, skip: boolean) {
  describe.skipIf(skip)(`idemkit proxy, two processes on ${label}`, () => {
    let upstream: TestUpstream;
    let proxies: ReturnType<typeof startCli>[] = [];
    let urls: string[] = [];

    beforeAll(async () => {
      upstream = await startUpstream();
      upstream.delayMs = 300;
      proxies = [0, 1].map(() =>
        startCli([
          "proxy",
          "--upstream",
          upstream.url,
          "--listen",
          "127.0.0.1:0",
          "--store",
          storeUrl(),
        ]),
      );
      urls = await Promise.all(
        proxies.map(async (p) => (await waitForLine(p, READY))[1]!),
      );
    });

    afterAll(async () => {
      for (const proxy of proxies) proxy.kill("SIGTERM");
      const exits = await Promise.all(proxies.map((p) => finished(p)));
      await upstream.close();
      expect(exits.map((e) => e.code)).toEqual([0, 0]);
    });

    it("runs 50 duplicates split across the two proxies once upstream", async () => {
      const key = `shared-${suffix}`;

      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => postUntilAnswered(urls[i % 2]!, key)),
      );
      const bodies = await Promise.all(answers.map((a) => a.text()));

      expect(upstream.posts).toBe(1);
      expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
      expect(new Set(bodies).size).toBe(1);
    });
  });
}

const prefix = `idemkit-cli-test-${suffix}:`;
sharedStoreSuite(
  "redis://",
  () => `${redis.url}?prefix=${encodeURIComponent(prefix)}`,
  redis.url === undefined,
);

const schema = `idemkit_cli_${suffix}`;
const pgUrl = new URL(PG_URL);
pgUrl.searchParams.set("schema", schema);
sharedStoreSuite("postgres://", () => pgUrl.toString(), !postgresUp);

afterAll(async () => {
  if (postgresUp) {
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await client.end();
  }
  if (redis.url !== undefined) {
    const { Redis } = await import("ioredis");
    const client = new Redis(redis.url);
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
    await client.quit();
  }
});
