/**
 * End to end across processes: an Express and a Fastify server process
 * share one store, with no balancer; the client sends each retry to the
 * other server. Every logical request must run once in total. Once on
 * Redis, once on a SQLite file (an in-process store, whose owners record
 * their response in the same tick it is sent).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotentFetch } from "../../src/client/fetch.js";
import { dropPrefix, openClient, type TestClient } from "../stores/redis/fixtures.js";
import { redisForTests } from "../support/redis.js";

const redis = await redisForTests("HTTP across processes on the Redis store");
const prefix = `idemkit-test:http-xproc:${randomUUID()}:`;
const counter = `${prefix}runs`;

type StoreJob =
  | { store: "redis"; url: string | undefined; prefix: string; counter: string }
  | { store: "sqlite"; path: string; counterFile: string };

function startServer(
  framework: "express" | "fastify",
  storeJob: StoreJob,
): Promise<{ child: ChildProcess; url: string }> {
  const job = { ...storeJob, framework };
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(import.meta.dirname, "workers", "api-server.ts"),
      JSON.stringify(job),
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not start")), 20_000);
    child.stdout?.on("data", (data) => {
      out += String(data);
      if (!out.includes("\n")) return;
      clearTimeout(timer);
      const { port } = JSON.parse(out) as { port: number };
      resolve({ child, url: `http://127.0.0.1:${port}` });
    });
    child.once("exit", (code) => reject(new Error(`server exited early (${code})`)));
  });
}

/**
 * A fetch that sends attempt n to server n % 2 (starting at `first`), and
 * gives up on the first attempt after 150 ms, as a client whose connection
 * timed out would, while that server is still running the handler.
 */
function alternating(urls: string[], first: number, log: string[]): typeof fetch {
  let attempt = 0;
  return (input, init) => {
    const target = urls[(first + attempt) % 2]!;
    const path = new URL(String(input)).pathname;
    const signals = [init?.signal, attempt === 0 ? AbortSignal.timeout(150) : undefined];
    attempt++;
    log.push(target);
    return fetch(`${target}${path}`, {
      ...init,
      signal: AbortSignal.any(signals.filter((s): s is AbortSignal => s != null)),
    });
  };
}

describe.skipIf(redis.skip !== undefined)(
  "HTTP across two server processes on Redis",
  () => {
    let client: TestClient;
    const servers: ChildProcess[] = [];
    let urls: string[];

    beforeAll(async () => {
      client = await openClient("ioredis", redis.url as string);
      const job: StoreJob = { store: "redis", url: redis.url, prefix, counter };
      const started = await Promise.all([
        startServer("express", job),
        startServer("fastify", job),
      ]);
      for (const s of started) servers.push(s.child);
      urls = started.map((s) => s.url);
    });

    afterAll(async () => {
      for (const child of servers) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await dropPrefix(client, prefix);
      await client.close();
    });

    it("runs each of 20 logical requests once while the client alternates servers on retries", async () => {
      const runsBefore = Number((await client.command(["GET", counter])) ?? 0);
      const results = await twentyAlternatingRequests(urls);
      const runsAfter = Number(await client.command(["GET", counter]));
      expect(runsAfter - runsBefore).toBe(20);
      expectOneRunEach(results);
    });
  },
);

describe("HTTP across two server processes on one SQLite file", () => {
  const dir = mkdtempSync(join(tmpdir(), "idemkit-http-xproc-"));
  const counterFile = join(dir, "runs.txt");
  const servers: ChildProcess[] = [];
  let urls: string[];

  beforeAll(async () => {
    writeFileSync(counterFile, "");
    const job: StoreJob = { store: "sqlite", path: join(dir, "records.db"), counterFile };
    // One after the other, so the first creates the tables in the file.
    const express = await startServer("express", job);
    const fastify = await startServer("fastify", job);
    servers.push(express.child, fastify.child);
    urls = [express.url, fastify.url];
  });

  afterAll(async () => {
    for (const child of servers) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs each of 20 logical requests once while the client alternates servers on retries", async () => {
    const results = await twentyAlternatingRequests(urls);
    const runs = readFileSync(counterFile, "utf8").split("\n").filter(Boolean);
    expect(runs).toHaveLength(20);
    expectOneRunEach(results);
  });
});

interface Outcome {
  res: Awaited<ReturnType<typeof idempotentFetch>>;
  body: { run: number | string };
  log: string[];
}

/** 20 logical POSTs, each retried on the other server after a timeout. */
function twentyAlternatingRequests(urls: string[]): Promise<Outcome[]> {
  return Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const log: string[] = [];
      const res = await idempotentFetch(
        "http://api.invalid/charge",
        {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ order: i, amount: 10 }),
        },
        { fetch: alternating(urls, i % 2, log), baseDelay: 50, maxRetries: 10 },
      );
      return { res, body: (await res.json()) as { run: number | string }, log };
    }),
  );
}

function expectOneRunEach(results: Outcome[]): void {
  for (const { res, log } of results) {
    expect(res.status).toBe(201);
    expect(res.replayed).toBe(true);
    expect(res.attempts).toBeGreaterThanOrEqual(2);
    expect(new Set(log).size).toBe(2);
  }
  expect(new Set(results.map((r) => r.body.run)).size).toBe(20);
}
