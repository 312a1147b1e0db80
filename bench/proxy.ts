/**
 * `idemkit proxy` throughput: autocannon on 127.0.0.1 against a small
 * upstream answering a small JSON body, direct and through the proxy (memory
 * and SQLite stores), with a unique key per request and with replays of one
 * key. The upstream and each proxy run as their own processes; autocannon
 * runs here. A bare forwarder on Node's http (no idemkit) runs too: its
 * ratio is the ceiling for any proxy on Node's http on the same machine.
 * Prints a markdown table.
 *
 *   node --import tsx bench/proxy.ts [seconds per case, default 5]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type AutocannonResult, autocannon } from "./autocannon.js";
import { printTable } from "./support.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SECONDS = Math.min(Number(process.argv[2] ?? 5), 20);
const CONNECTIONS = 32;
const BODY = JSON.stringify({ account: "acct_1", amount: 1250, currency: "eur" });

const UPSTREAM = `
const http = require("node:http");
const body = JSON.stringify({ id: "ch_1", status: "succeeded", amount: 1250 });
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(req.method === "POST" ? 201 : 200, {
      "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}).listen(0, "127.0.0.1", function () { console.log("port " + this.address().port); });
`;

// The least a reverse proxy on Node's own http can do: read the body, send
// it upstream over a keep-alive agent, read the answer, send it back. No
// header rules, no idempotency. Its ratio to direct is the ceiling any proxy
// built on Node's http reaches on this machine.
const BARE_PROXY = `
const http = require("node:http");
const upstream = new URL(process.argv[1]);
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method,
      path: req.url, agent, headers: { "content-type": req.headers["content-type"] || "application/octet-stream",
      "content-length": body.length } }, (answer) => {
      const parts = [];
      answer.on("data", (c) => parts.push(c));
      answer.on("end", () => {
        const reply = Buffer.concat(parts);
        res.writeHead(answer.statusCode, { "content-type": answer.headers["content-type"],
          "content-length": reply.length });
        res.end(reply);
      });
    });
    out.end(body);
  });
}).listen(0, "127.0.0.1", function () { console.log("port " + this.address().port); });
`;

function cli(): string[] {
  const built = join(ROOT, "dist", "cli", "main.js");
  return existsSync(built)
    ? [built]
    : ["--import", "tsx", join(ROOT, "src", "cli", "main.ts")];
}

function start(
  args: string[],
  ready: RegExp,
): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let seen = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = ready.exec(seen);
      if (match) resolve({ child, match });
    });
    child.on("exit", (code) => reject(new Error(`exited ${code} before ready`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

async function load(
  url: string,
  key: "unique" | "none" | string,
  seconds = SECONDS,
): Promise<AutocannonResult> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key !== "unique" && key !== "none") headers["idempotency-key"] = key;
  return autocannon({
    url: `${url}/charges`,
    connections: CONNECTIONS,
    duration: seconds,
    method: "POST",
    headers,
    body: BODY,
    ...(key === "unique"
      ? {
          requests: [
            {
              setupRequest: (req) => ({
                ...req,
                headers: { ...req.headers, "idempotency-key": randomUUID() },
              }),
            },
          ],
        }
      : {}),
  });
}

interface Row {
  readonly name: string;
  readonly result: AutocannonResult;
  /** Direct req/s measured right before this case. */
  readonly direct: number;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "idemkit-bench-proxy-"));
  const upstream = await start(["-e", UPSTREAM], /port (\d+)/);
  const upstreamUrl = `http://127.0.0.1:${upstream.match[1]}`;
  const rows: Row[] = [];
  // The machine is shared: each case is paired with a direct run just
  // before it, and its ratio is taken against that run.
  const paired = async (name: string, run: () => Promise<AutocannonResult>) => {
    const direct = (await load(upstreamUrl, "none")).requests.average;
    rows.push({ name, result: await run(), direct });
  };

  try {
    await load(upstreamUrl, "none", 2); // warm-up
    const direct = await load(upstreamUrl, "none");
    rows.push({
      name: "direct (no proxy)",
      result: direct,
      direct: direct.requests.average,
    });

    const bare = await start(["-e", BARE_PROXY, upstreamUrl], /port (\d+)/);
    try {
      const url = `http://127.0.0.1:${bare.match[1]}`;
      await load(url, "none", 1);
      await paired("bare Node forwarder (reference, no idemkit)", () =>
        load(url, "none"),
      );
    } finally {
      await stop(bare.child);
    }

    for (const store of ["memory:", `sqlite:${join(dir, "bench.db")}`]) {
      const label = store.startsWith("sqlite") ? "sqlite" : "memory";
      const proxy = await start(
        [
          ...cli(),
          "proxy",
          "--upstream",
          upstreamUrl,
          "--listen",
          "127.0.0.1:0",
          "--store",
          store,
        ],
        /listening on (http:\/\/[\d.:]+)/,
      );
      const url = proxy.match[1]!;
      try {
        await fetch(`${url}/charges`, {
          method: "POST",
          headers: {
            "idempotency-key": "replayed-key",
            "content-type": "application/json",
          },
          body: BODY,
        });
        // Warm-up: JIT, keep-alive pools, the store's first pages.
        await load(url, "unique", 2);
        await load(url, "none", 1);
        await paired(`proxy, ${label}, unique keys`, () => load(url, "unique"));
        await paired(`proxy, ${label}, replays`, () => load(url, "replayed-key"));
        await paired(`proxy, ${label}, no key (pass-through)`, () => load(url, "none"));
      } finally {
        await stop(proxy.child);
      }
    }
  } finally {
    await stop(upstream.child);
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\nidemkit proxy, ${SECONDS}s per case, ${CONNECTIONS} connections, POST of ${BODY.length} bytes, Node ${process.version}\n`,
  );
  printTable(
    [
      "case",
      "req/s",
      "direct req/s (paired)",
      "× direct",
      "p50 ms",
      "p99 ms",
      "non-2xx",
      "errors",
    ],
    rows.map(({ name, result, direct }) => [
      name,
      result.requests.average,
      direct,
      `${(result.requests.average / direct).toFixed(2)}×`,
      String(result.latency.p50),
      String(result.latency.p99),
      String(result.non2xx),
      String(result.errors),
    ]),
  );
}

await main();
