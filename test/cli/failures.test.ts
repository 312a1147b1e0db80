import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { finished, runCli, startCli, waitForLine } from "./run-cli.js";
import { startUpstream } from "./upstream.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-cli-failures-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const READY = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function expectOneLineError(
  result: { code: number | null; stderr: string },
  pattern: RegExp,
) {
  expect(result.code).toBe(2);
  const lines = result.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^idemkit: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe("idemkit failures", () => {
  it("answers an unknown flag with one line and exit code 2", async () => {
    const result = await runCli(["inspect", "--no-such-flag"]);

    expectOneLineError(result, /no-such-flag/);
  });

  it("answers an unknown command and a wrong store URL with exit code 2", async () => {
    const command = await runCli(["frobnicate"]);
    const url = await runCli(["stats", "--store", "mongodb://x"]);

    expectOneLineError(command, /unknown command "frobnicate"/);
    expectOneLineError(url, /Unknown store URL/);
  });

  it("answers an unreachable Redis with one line and exit code 2", async () => {
    const port = await closedPort();

    const result = await runCli(["stats", "--store", `redis://127.0.0.1:${port}`]);

    expectOneLineError(result, /Cannot reach redis:\/\/127\.0\.0\.1:\d+/);
  });

  it("answers an unreachable Postgres with one line and exit code 2", async () => {
    const port = await closedPort();

    const result = await runCli([
      "stats",
      "--store",
      `postgres://postgres@127.0.0.1:${port}/test`,
    ]);

    expectOneLineError(
      result,
      /Cannot reach postgres:\/\/postgres@127\.0\.0\.1:\d+\/test/,
    );
  });

  it("refuses to start the proxy on an unreachable store or without --upstream", async () => {
    const port = await closedPort();

    const store = await runCli([
      "proxy",
      "--upstream",
      "http://127.0.0.1:1",
      "--listen",
      "127.0.0.1:0",
      "--store",
      `redis://127.0.0.1:${port}`,
    ]);
    const upstream = await runCli(["proxy", "--listen", "127.0.0.1:0"]);

    expectOneLineError(store, /Cannot reach redis/);
    expectOneLineError(upstream, /needs --upstream/);
  });

  it("answers 502 problem+json when the upstream refuses connections, and stores nothing to replay", async () => {
    const port = await closedPort();
    const path = join(dir, "refused.db");
    const proxy = startCli([
      "proxy",
      "--upstream",
      `http://127.0.0.1:${port}`,
      "--listen",
      "127.0.0.1:0",
      "--store",
      `sqlite:${path}`,
    ]);
    const url = (await waitForLine(proxy, READY))[1]!;
    const send = (key?: string) =>
      fetch(`${url}/charges`, {
        method: "POST",
        headers: key ? { "idempotency-key": key } : {},
        body: "{}",
      });

    const keyed = await send("refused-1");
    const keyless = await send();
    const get = await fetch(`${url}/anything`);
    const upstream = await startUpstream(port);
    const retried = await send("refused-1");
    proxy.kill("SIGTERM");
    const exit = await finished(proxy);
    await upstream.close();

    for (const answer of [keyed, keyless, get]) {
      expect(answer.status).toBe(502);
      expect(answer.headers.get("content-type")).toBe("application/problem+json");
      expect((await answer.json()) as object).toMatchObject({ status: 502 });
    }
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    expect(upstream.posts).toBe(1);
    expect(exit.code).toBe(0);
  });

  it("lets a request in flight finish on SIGTERM, records it, then exits 0", async () => {
    const upstream = await startUpstream();
    upstream.delayMs = 1_000;
    const path = join(dir, "sigterm.db");
    const proxy = startCli([
      "proxy",
      "--upstream",
      upstream.url,
      "--listen",
      "127.0.0.1:0",
      "--store",
      `sqlite:${path}`,
    ]);
    const url = (await waitForLine(proxy, READY))[1]!;
    const arrived = upstream.firstBytes();

    const answer = fetch(`${url}/charges`, {
      method: "POST",
      headers: { "idempotency-key": "in-flight-1" },
      body: '{"amount":5}',
    });
    await arrived;
    proxy.kill("SIGTERM");
    const response = await answer;
    const body = await response.text();
    const exit = await finished(proxy);
    await upstream.close();

    expect(response.status).toBe(201);
    expect(JSON.parse(body)).toMatchObject({ posts: 1 });
    expect(exit.code).toBe(0);
    expect(exit.stderr).toContain("SIGTERM, finishing 1 in-flight request(s)");
    const store = new SqliteStore({ path });
    const records = (await store.list({ limit: 10 })).records;
    await store.close();
    expect(records).toMatchObject([{ key: "in-flight-1", status: "completed" }]);
  });

  it("frees the key when the upstream breaks off mid-response, so the retry runs", async () => {
    let posts = 0;
    const flaky = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        posts += 1;
        if (posts === 1) {
          res.writeHead(201, { "content-length": "100" });
          res.write("0123456789");
          setTimeout(() => res.destroy(), 20);
          return;
        }
        res.writeHead(201, { "content-type": "application/json" });
        res.end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => flaky.listen(0, "127.0.0.1", resolve));
    const port = (flaky.address() as net.AddressInfo).port;
    const proxy = startCli([
      "proxy",
      "--upstream",
      `http://127.0.0.1:${port}`,
      "--listen",
      "127.0.0.1:0",
      "--store",
      "memory:",
    ]);
    const url = (await waitForLine(proxy, READY))[1]!;
    const send = () =>
      fetch(`${url}/charges`, {
        method: "POST",
        headers: { "idempotency-key": "broken-off-1" },
        body: "{}",
      });

    const first = await send().then(
      (r) => r.status,
      () => "failed",
    );
    let retry = await send();
    for (let i = 0; i < 20 && retry.status === 409; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      retry = await send();
    }
    proxy.kill("SIGTERM");
    await finished(proxy);
    flaky.closeAllConnections();
    flaky.close();

    expect(first).not.toBe(201);
    expect(retry.status).toBe(201);
    expect(await retry.json()).toEqual({ ok: true });
    expect(posts).toBe(2);
  });
});
