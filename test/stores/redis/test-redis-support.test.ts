import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { freePort, locate, pingRedis, startRedisServer } from "../../support/redis.js";

const run = promisify(execFile);

describe("the tests' Redis finder", () => {
  it("uses a Redis that answers without starting one", async () => {
    const server = await startRedisServer();

    const found = await locate("finder test", [server.url], async () => {
      throw new Error("must not start one");
    });

    expect(found).toMatchObject({ url: server.url, skip: undefined });
    expect(found.server).toBeUndefined();
    await server.stop();
  });

  it("starts its own redis-server when none answers, and cleans it up", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;

    const found = await locate("finder test", [dead]);
    const answered = await pingRedis(found.url as string);
    await found.server?.stop();

    expect(found.server).toBeDefined();
    expect(found.url).not.toBe(dead);
    expect(answered).toBe(true);
    expect(found.server?.running).toBe(false);
    expect(await pingRedis(found.url as string)).toBe(false);
  });

  it("skips loudly, naming what it skipped, when no Redis can be had", async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`;
    const reported: string[][] = [];

    const found = await locate(
      "Redis suites",
      [dead],
      async () => {
        throw new Error("no redis-server binary");
      },
      (what, why) => reported.push([what, why]),
    );

    expect(found.url).toBeUndefined();
    expect(found.skip).toMatch(/no Redis at .* none could be started/);
    expect(reported).toEqual([["Redis suites", found.skip]]);
  });

  it("stops the server it started when the test process exits", async () => {
    const worker = join(import.meta.dirname, "workers", "own-server-worker.ts");

    const { stdout } = await run(process.execPath, ["--import", "tsx", worker], {
      timeout: 20_000,
    });
    const url = stdout.trim();

    expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(await pingRedis(url)).toBe(false);
  });
});
