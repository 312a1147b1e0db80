/**
 * HTTP middleware throughput: autocannon on 127.0.0.1 against Fastify and
 * Express, a POST handler answering a small JSON body, bare and with
 * idemkit on the memory store and on Redis (127.0.0.1:6379, fresh prefix,
 * records expire after 2 minutes), with a unique key per request and with
 * replays of one key. Each server runs in its own process; autocannon runs
 * here. The servers load idemkit from `dist/` when it is built (run
 * `npm run build` first for numbers that match a published package), else
 * from the TypeScript sources through tsx. Besides requests per second
 * (noisy on a shared machine), each case reports the server process's CPU
 * time per request, which says the same thing more steadily. Every case
 * runs right after a bare run of the same framework, for several rounds,
 * and ratios are medians of those pairs.
 * Prints a markdown table.
 *
 *   node --import tsx bench/http.ts [seconds per run, default 3]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { type AutocannonResult, autocannon } from "./autocannon.js";
import { median, printTable } from "./support.js";

type Framework = "fastify" | "express";
type Mode = "bare" | "memory" | "redis";

const SELF = fileURLToPath(import.meta.url);
const BUILT = existsSync(
  fileURLToPath(new URL("../dist/http/index.js", import.meta.url)),
);
const LIB = BUILT ? "../dist" : "../src";
const SECONDS = Math.min(Number(process.argv[2] ?? 3), 20);
const ROUNDS = 3;
const CONNECTIONS = 16;
const REDIS_URL = "redis://127.0.0.1:6379";
const BODY = JSON.stringify({ account: "acct_1", amount: 1250, currency: "eur" });
const ANSWER = { id: "ch_1", status: "succeeded", amount: 1250 };

function cpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

// ---- server side (a child process: `bench/http.ts serve <framework> <mode>`)

async function storeFor(mode: Mode) {
  if (mode === "memory") {
    const { MemoryStore } = await import(`${LIB}/stores/memory/memory-store.js`);
    return new MemoryStore();
  }
  const { Redis } = await import("ioredis");
  const { RedisStore } = await import(`${LIB}/stores/redis/index.js`);
  const client = new Redis(REDIS_URL);
  return new RedisStore({ client, prefix: `idemkit-bench:http:${randomUUID()}:` });
}

async function serve(framework: Framework, mode: Mode): Promise<void> {
  const options =
    mode === "bare" ? undefined : { store: await storeFor(mode), ttl: "2m" as const };
  let port: number;

  if (framework === "fastify") {
    const { default: Fastify } = await import("fastify");
    const { idempotency } = await import(`${LIB}/http/fastify/index.js`);
    const app = Fastify();
    if (options) await app.register(idempotency(options));
    app.post("/charges", async (_req, reply) => reply.code(201).send(ANSWER));
    app.get("/cpu", async () => cpuMicros());
    await app.listen({ port: 0, host: "127.0.0.1" });
    port = (app.server.address() as AddressInfo).port;
  } else {
    const { default: express } = await import("express");
    const { idempotency } = await import(`${LIB}/http/express/index.js`);
    const app = express();
    app.use(express.json());
    if (options) app.use(idempotency(options));
    app.post("/charges", (_req, res) => {
      res.status(201).json(ANSWER);
    });
    app.get("/cpu", (_req, res) => {
      res.json(cpuMicros());
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    port = (server.address() as AddressInfo).port;
  }
  console.log(`port ${port}`);
  process.once("SIGINT", () => process.exit(0));
}

// ---- load side

function start(
  framework: Framework,
  mode: Mode,
): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", SELF, "serve", framework, mode],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("server did not start")), 20_000);
    child.stdout?.on("data", (data) => {
      out += String(data);
      const match = /port (\d+)/.exec(out);
      if (!match) return;
      clearTimeout(timer);
      resolve({ child, url: `http://127.0.0.1:${match[1]}/charges` });
    });
    child.once("exit", (code) => reject(new Error(`server exited (${code})`)));
  });
}

async function serverCpu(url: string): Promise<number> {
  const res = await fetch(url.replace(/\/charges$/, "/cpu"));
  return Number(await res.json());
}

async function load(
  url: string,
  keys: "unique" | "one",
  duration = SECONDS,
): Promise<AutocannonResult> {
  const fixed = `"${randomUUID()}"`;
  return autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": fixed },
    body: BODY,
    requests:
      keys === "unique"
        ? [
            {
              setupRequest: (req) => {
                req.headers["idempotency-key"] = `"${randomUUID()}"`;
                return req;
              },
            },
          ]
        : undefined,
  });
}

/** One timed run: req/s, the server's CPU µs per request, latency, failures. */
async function measureCase(url: string, keys: "unique" | "one") {
  const cpuBefore = await serverCpu(url);
  const result = await load(url, keys);
  const cpu = ((await serverCpu(url)) - cpuBefore) / result.requests.total;
  return {
    rate: result.requests.average,
    cpu,
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.non2xx + result.errors,
  };
}

async function redisUp(): Promise<boolean> {
  const { Socket } = await import("node:net");
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.setTimeout(500, () => resolve(false));
    socket.once("error", () => resolve(false));
    socket.connect(6379, "127.0.0.1", () => {
      socket.destroy();
      resolve(true);
    });
  });
}

async function main(): Promise<void> {
  const withRedis = await redisUp();
  const cases: { mode: Mode; keys: "unique" | "one"; label: string }[] = [
    { mode: "memory", keys: "unique", label: "memory, unique keys" },
    { mode: "memory", keys: "one", label: "memory, replays" },
  ];
  if (withRedis) {
    cases.push(
      { mode: "redis", keys: "unique", label: "redis, unique keys" },
      { mode: "redis", keys: "one", label: "redis, replays" },
    );
  }

  const rows: (string | number)[][] = [];
  for (const framework of ["fastify", "express"] as const) {
    const servers = new Map<Mode, { child: ChildProcess; url: string }>();
    try {
      for (const mode of new Set(["bare" as Mode, ...cases.map((c) => c.mode)])) {
        const server = await start(framework, mode);
        servers.set(mode, server);
        await load(server.url, "unique", 2); // warm-up, not counted
        await load(server.url, "one", 1);
      }
      const bare = servers.get("bare")!;
      // The machine is shared: every case runs right after a bare run with
      // the same keys, round after round, and each figure is the median of
      // its rounds, so a burst of load elsewhere hits a pair alike.
      const measured = cases.map(() => ({
        rate: [] as number[],
        bareRate: [] as number[],
        ratio: [] as number[],
        cpu: [] as number[],
        capacity: [] as number[],
        p50: [] as number[],
        p99: [] as number[],
        failed: 0,
      }));
      for (let round = 0; round < ROUNDS; round++) {
        for (const [i, c] of cases.entries()) {
          const base = await measureCase(bare.url, c.keys);
          const run = await measureCase(servers.get(c.mode)!.url, c.keys);
          const m = measured[i]!;
          m.rate.push(run.rate);
          m.bareRate.push(base.rate);
          m.ratio.push(run.rate / base.rate);
          m.cpu.push(run.cpu);
          m.capacity.push(base.cpu / run.cpu);
          m.p50.push(run.p50);
          m.p99.push(run.p99);
          m.failed += run.failed;
        }
      }
      for (const [i, c] of cases.entries()) {
        const m = measured[i]!;
        rows.push([
          framework,
          c.label,
          median(m.rate),
          median(m.bareRate),
          `${median(m.ratio).toFixed(2)}x`,
          median(m.cpu),
          `${median(m.capacity).toFixed(2)}x`,
          median(m.p50),
          median(m.p99),
          m.failed,
        ]);
      }
    } finally {
      for (const server of servers.values()) server.child.kill("SIGTERM");
    }
  }

  console.log(
    `\n${SECONDS} s per run, each case paired with a bare run, median of ${ROUNDS} rounds, ${CONNECTIONS} connections, Node ${process.version}, idemkit from ${BUILT ? "dist/" : "src/ via tsx"}${withRedis ? "" : " (no Redis at 127.0.0.1:6379: Redis cases skipped)"}\n`,
  );
  printTable(
    [
      "framework",
      "case",
      "req/s",
      "bare req/s (paired)",
      "req/s vs bare",
      "server CPU µs/req",
      "capacity vs bare",
      "p50 ms",
      "p99 ms",
      "non-2xx+errors",
    ],
    rows,
  );
  await protocolCost();
}

/**
 * The protocol's own cost without a network or a framework: CPU time per
 * request through `IdempotencyProtocol` on the memory store (inspect,
 * fingerprint, claim, complete or replay).
 */
async function protocolCost(): Promise<void> {
  const { IdempotencyProtocol } = await import(`${LIB}/http/protocol.js`);
  const { nodeRequestView } = await import(`${LIB}/http/node-headers.js`);
  const { MemoryStore } = await import(`${LIB}/stores/memory/memory-store.js`);
  const protocol = new IdempotencyProtocol({ store: new MemoryStore() });
  const parsed = JSON.parse(BODY) as unknown;
  const payload = Buffer.from(JSON.stringify(ANSWER));
  const headers = [["content-type", "application/json; charset=utf-8"]] as const;

  const one = async (key: string): Promise<void> => {
    const view = nodeRequestView("POST", "/charges", {
      "idempotency-key": key,
      "content-type": "application/json",
    });
    const inspection = protocol.inspect(view);
    const step = await protocol.execute(view, inspection.key, parsed);
    if (step.kind === "run") await step.finish({ status: 201, headers, body: payload });
  };

  const rows: (string | number)[][] = [];
  for (const keys of ["unique", "one", "unique", "one"] as const) {
    const n = 20_000;
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++)
      await one(keys === "unique" ? `"${randomUUID()}"` : '"k"');
    const used = process.cpuUsage(before);
    rows.push([
      keys === "unique" ? "unique keys" : "replays",
      (used.user + used.system) / n,
    ]);
  }
  console.log("\nProtocol cost alone (memory store, no network), second run of each:\n");
  printTable(["case", "CPU µs/request"], rows.slice(2));
}

if (process.argv[2] === "serve") {
  await serve(process.argv[3] as Framework, process.argv[4] as Mode);
} else {
  await main();
}
