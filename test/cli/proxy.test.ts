import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { finished, startCli, waitForLine } from "./run-cli.js";
import { startUpstream, type TestUpstream } from "./upstream.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-cli-proxy-"));
const READY = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

let upstream: TestUpstream;
let proxyUrl: string;
let mainProxy: RunningProxy;

beforeAll(async () => {
  upstream = await startUpstream();
  mainProxy = await startProxy([], `sqlite:${join(dir, "proxy.db")}`);
  proxyUrl = mainProxy.url;
});

afterAll(async () => {
  await mainProxy.stop();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

const post = (key: string | undefined, body: string) =>
  fetch(`${proxyUrl}/charges`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key ? { "idempotency-key": key } : {}),
    },
    body,
  });

interface RunningProxy {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts a proxy in front of the test upstream (on the memory store unless told). */
async function startProxy(
  flags: readonly string[],
  store = "memory:",
): Promise<RunningProxy> {
  const child = startCli([
    "proxy",
    "--upstream",
    upstream.url,
    "--listen",
    "127.0.0.1:0",
    "--store",
    store,
    ...flags,
  ]);
  const url = (await waitForLine(child, READY))[1]!;
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await finished(child);
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("idemkit proxy", () => {
  it("runs 50 concurrent duplicates once upstream, and replays carry Idempotent-Replayed", async () => {
    upstream.delayMs = 100;
    const before = upstream.posts;

    const answers = await Promise.all(
      Array.from({ length: 50 }, () => post("dup-50", '{"amount":10}')),
    );
    const bodies = await Promise.all(answers.map((a) => a.text()));
    const replay = await post("dup-50", '{"amount":10}');
    upstream.delayMs = 0;

    expect(upstream.posts - before).toBe(1);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(201));
    expect(new Set(bodies).size).toBe(1);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await replay.text()).toBe(bodies[0]);
  });

  it("streams a response over the record limit whole, and tells a duplicate it cannot be replayed", async () => {
    const before = upstream.posts;
    const send = () =>
      fetch(`${proxyUrl}/big?bytes=${3 * 1024 * 1024}`, {
        method: "POST",
        headers: { "idempotency-key": "big-1" },
        body: "{}",
      });

    const first = await send();
    const body = Buffer.from(await first.arrayBuffer());
    const second = await send();

    expect(first.status).toBe(201);
    expect(body.length).toBe(3 * 1024 * 1024);
    expect(body.every((byte) => byte === 120)).toBe(true);
    expect(upstream.posts - before).toBe(1);
    expect(second.status).toBe(500);
    expect(await second.json()).toMatchObject({ code: "IDEMKIT_RESULT_UNAVAILABLE" });
  });

  it("runs a keyed POST without a body once and replays it", async () => {
    const before = upstream.posts;
    const send = () =>
      fetch(`${proxyUrl}/orders/7/cancel`, {
        method: "POST",
        headers: { "idempotency-key": "no-body-1" },
      });

    const first = await send();
    const second = await send();

    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(await second.text()).toBe(await first.text());
    expect(upstream.posts - before).toBe(1);
  });

  it("passes GETs through unchanged", async () => {
    const direct = await fetch(`${upstream.url}/things?x=1`);
    const proxied = await fetch(`${proxyUrl}/things?x=1`);

    const directBody = (await direct.json()) as Record<string, unknown>;
    const proxiedBody = (await proxied.json()) as Record<string, unknown>;
    expect(proxied.status).toBe(direct.status);
    expect(proxied.headers.get("x-upstream")).toBe("yes");
    expect(proxied.headers.get("idempotent-replayed")).toBeNull();
    const forwarded = { forwardedFor: null, forwardedHost: null, forwardedProto: null };
    expect({ ...proxiedBody, ...forwarded }).toEqual({ ...directBody, ...forwarded });
    expect(proxiedBody.forwardedFor).toBe("127.0.0.1");
    expect(proxiedBody.forwardedHost).toBe(new URL(proxyUrl).host);
    expect(proxiedBody.forwardedProto).toBe("http");
  });

  it("streams a 2 MiB upload without a key through, before the client has finished sending", async () => {
    const half = Buffer.alloc(1024 * 1024, 97);
    const arrived = upstream.firstBytes();
    const { port } = new URL(proxyUrl);

    const answer = await new Promise<{ status: number; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port, method: "POST", path: "/upload" },
          (res) => {
            let body = "";
            res.on("data", (chunk: Buffer) => {
              body += chunk.toString();
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.write(half);
        // The second half is sent only once the upstream has bytes: a proxy
        // that buffered the body would wait here forever.
        arrived.then(() => req.end(half), reject);
      },
    );

    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body).size).toBe(2 * 1024 * 1024);
  });

  it("refuses a keyed body over the 1 MiB limit with 413 before the upstream sees it", async () => {
    const before = upstream.posts;

    const answer = await post("too-big", "x".repeat(2 * 1024 * 1024));

    expect(answer.status).toBe(413);
    expect(upstream.posts).toBe(before);
  });

  it("stores the record it served, as the store's own API shows", async () => {
    await post("visible-1", '{"amount":1}');

    const store = new SqliteStore({ path: join(dir, "proxy.db") });
    const { records } = await store.list({ limit: 1000 });
    await store.close();

    expect(records.find((r) => r.key === "visible-1")).toMatchObject({
      status: "completed",
      namespace: "http",
    });
  });

  it("with --scope-header, keeps equal keys of different tenants apart", async () => {
    const scoped = await startProxy(["--scope-header", "X-Tenant"]);
    const before = upstream.posts;
    const send = (tenant: string) =>
      fetch(`${scoped.url}/charges`, {
        method: "POST",
        headers: { "idempotency-key": "tenant-key", "x-tenant": tenant },
        body: '{"amount":3}',
      });

    const a = await send("a");
    const b = await send("b");
    const again = await send("a");
    await scoped.stop();

    expect([a.status, b.status, again.status]).toEqual([201, 201, 201]);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(upstream.posts - before).toBe(2);
  });
  it("tells the upstream the client's protocol with X-Forwarded-Proto on the idempotency path", async () => {
    const answer = await post("proto-1", '{"amount":2}');

    expect(answer.status).toBe(201);
    expect(await answer.json()).toMatchObject({
      forwardedProto: "http",
      forwardedHost: new URL(proxyUrl).host,
    });
  });

  it("without --required, lets a POST without a key through to the upstream", async () => {
    const before = upstream.posts;

    const answer = await post(undefined, '{"amount":4}');

    expect(answer.status).toBe(201);
    expect(answer.headers.get("x-upstream")).toBe("yes");
    expect(upstream.posts - before).toBe(1);
  });

  it("with --required, answers a POST or PATCH without a key 400 problem+json and never calls the upstream", async () => {
    const proxy = await startProxy(["--required"]);
    try {
      const before = upstream.posts;
      const send = (method: string, key?: string) =>
        fetch(`${proxy.url}/charges`, {
          method,
          headers: {
            "content-type": "application/json",
            ...(key ? { "idempotency-key": key } : {}),
          },
          body: '{"amount":5}',
        });

      const keylessPost = await send("POST");
      const patch = await send("PATCH");
      const problem = await keylessPost.json();
      await patch.arrayBuffer();

      expect(keylessPost.status).toBe(400);
      expect(keylessPost.headers.get("content-type")).toMatch(
        /^application\/problem\+json/,
      );
      expect(problem).toMatchObject({ status: 400, code: "IDEMKIT_KEY_MISSING" });
      expect(patch.status).toBe(400);
      expect(upstream.posts).toBe(before);

      // A key, or a method outside the protocol, still reaches the upstream.
      const keyed = await send("POST", "required-1");
      const get = await fetch(`${proxy.url}/things`);
      expect([keyed.status, get.status]).toEqual([201, 200]);
      expect(upstream.posts - before).toBe(1);
    } finally {
      await proxy.stop();
    }
  });

  it("with --ttl 1s, replays at once and runs the key upstream again once the ttl has passed", async () => {
    const proxy = await startProxy(["--ttl", "1s"]);
    try {
      const before = upstream.posts;
      const send = () =>
        fetch(`${proxy.url}/charges`, {
          method: "POST",
          headers: { "content-type": "application/json", "idempotency-key": "ttl-1" },
          body: '{"amount":6}',
        });

      const first = await send();
      const firstBody = await first.text();
      // The record completed before the first answer arrived, so it
      // expires at most 1 s after this moment.
      const answeredAt = Date.now();
      const replay = await send();
      const replayBody = await replay.text();

      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(replayBody).toBe(firstBody);
      expect(upstream.posts - before).toBe(1);

      await sleep(answeredAt + 1_000 + 100 - Date.now());
      const after = await send();
      const afterBody = await after.text();

      expect(after.status).toBe(201);
      expect(after.headers.get("idempotent-replayed")).toBeNull();
      expect(afterBody).not.toBe(firstBody);
      expect(upstream.posts - before).toBe(2);
    } finally {
      await proxy.stop();
    }
  });
});
