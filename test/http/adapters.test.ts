/**
 * The protocol over real HTTP, the same scenarios for Express, Fastify and
 * Hono (node server), each on 127.0.0.1 with an ephemeral port.
 */
import { randomUUID } from "node:crypto";
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpIdempotencyOptions } from "../../src/http/options.js";
import type { IdempotencyStore } from "../../src/stores/contract.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { anotherProcessView, sleep } from "../support/delegating-store.js";
import { FRAMEWORKS, type RunningApp, startApp } from "./support/apps.js";
import { type RawResponse, send, sf } from "./support/request.js";

const LIMITS: Omit<HttpIdempotencyOptions, "store"> = {
  required: true,
  maxBodyBytes: 2048,
  maxResponseBytes: 1024,
};

/**
 * POSTs `{ n: 1 }` with `key` and reads the response as it arrives, calling
 * `onText` with the text so far after each chunk. Fails after 3 s without
 * an end, so a response held back by the middleware cannot hang the test.
 */
function sendStreaming(
  base: string,
  path: string,
  key: string,
  onText: (text: string) => void,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method: "POST" }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        text += chunk;
        onText(text);
      });
      res.on("end", () => resolve(text));
      res.on("error", reject);
    });
    req.setTimeout(3_000, () => {
      req.destroy(new Error(`no end of ${path} within 3 s: the stream was held back`));
    });
    req.on("error", reject);
    req.setHeader("content-type", "application/json");
    req.setHeader("idempotency-key", key);
    req.end(JSON.stringify({ n: 1 }));
  });
}

function expectProblem(res: RawResponse, status: number): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
  const problem = res.json() as Record<string, unknown>;
  expect(problem).toMatchObject({ status });
  expect(typeof problem.type).toBe("string");
  expect(typeof problem.title).toBe("string");
  expect(typeof problem.detail).toBe("string");
  return problem;
}

describe.each(FRAMEWORKS)("idempotency middleware on %s", (framework) => {
  let app: RunningApp;
  let store: MemoryStore;

  beforeAll(async () => {
    store = new MemoryStore();
    app = await startApp(framework, { store, ...LIMITS });
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  it("runs the handler once for 50 concurrent POSTs with one key, and replays it later", async () => {
    const key = sf(randomUUID());
    const body = { sku: "A1", qty: 2 };

    const answers = await Promise.all(
      Array.from({ length: 50 }, () => send(app.url, "/orders", { key, body })),
    );
    const retry = await send(app.url, "/orders", { key, body });

    expect(app.runs.get("orders")).toBe(1);
    for (const res of answers) expect([201, 409]).toContain(res.status);
    const owner = answers.find((res) => res.headers["idempotent-replayed"] === undefined);
    expect(owner?.status).toBe(201);
    expect(owner?.headers["set-cookie"]).toBeDefined();
    for (const res of answers.filter((r) => r.status === 201)) {
      expect(res.json()).toEqual({ id: 1, body });
    }
    expect(retry.status).toBe(201);
    expect(retry.json()).toEqual(owner?.json());
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers.location).toBe(owner?.headers.location);
    expect(retry.headers.etag).toBe(owner?.headers.etag);
    expect(retry.headers["content-type"]).toBe(owner?.headers["content-type"]);
    expect(retry.headers["set-cookie"]).toBeUndefined();
    expect(retry.headers["x-trace"]).toBeUndefined();
  });

  it("answers 422 for the same key with another body, and treats reordered JSON as the same request", async () => {
    const key = sf(randomUUID());
    const before = app.runs.get("orders") ?? 0;

    const first = await send(app.url, "/orders", {
      key,
      body: { a: 1, b: { c: 2, d: 3 } },
    });
    const reordered = await send(app.url, "/orders", {
      key,
      body: { b: { d: 3, c: 2 }, a: 1 },
    });
    const different = await send(app.url, "/orders", {
      key,
      body: { a: 1, b: { c: 2, d: 4 } },
    });

    expect(first.status).toBe(201);
    expect(reordered.status).toBe(201);
    expect(reordered.headers["idempotent-replayed"]).toBe("true");
    expect(reordered.json()).toEqual(first.json());
    expect(expectProblem(different, 422).code).toBe("IDEMKIT_KEY_REUSE");
    expect(app.runs.get("orders")).toBe(before + 1);
  });

  it("answers 400 problem+json for a missing, invalid or duplicated header, without running", async () => {
    const before = app.runs.get("orders") ?? 0;

    const missing = await send(app.url, "/orders", { body: { a: 1 } });
    const unterminated = await send(app.url, "/orders", { key: '"abc', body: { a: 1 } });
    const tooLong = await send(app.url, "/orders", {
      key: sf("k".repeat(256)),
      body: { a: 1 },
    });
    const empty = await send(app.url, "/orders", { key: '""', body: { a: 1 } });
    const twice = await send(app.url, "/orders", {
      key: [sf("a"), sf("b")],
      body: { a: 1 },
    });
    const passGet = await send(app.url, "/orders", { method: "GET" });

    expect(expectProblem(missing, 400).code).toBe("IDEMKIT_KEY_MISSING");
    for (const res of [unterminated, tooLong, empty, twice]) {
      expect(expectProblem(res, 400).code).toBe("IDEMKIT_KEY_INVALID");
    }
    expect(passGet.status).toBe(200);
    expect(passGet.json()).toEqual({ list: true });
    expect(app.runs.get("orders") ?? 0).toBe(before);
  });

  it("accepts a bare token key as well as a quoted one", async () => {
    const key = randomUUID();

    const bare = await send(app.url, "/whoami", { key, body: { x: 1 } });
    const quoted = await send(app.url, "/whoami", { key: sf(key), body: { x: 1 } });

    expect(bare.status).toBe(201);
    expect(quoted.headers["idempotent-replayed"]).toBe("true");
  });

  it("answers 413 for a body over maxBodyBytes before the handler runs", async () => {
    const before = app.runs.get("orders") ?? 0;

    const res = await send(app.url, "/orders", {
      key: sf(randomUUID()),
      body: { blob: "y".repeat(4000) },
    });

    expectProblem(res, 413);
    expect(app.runs.get("orders") ?? 0).toBe(before);
  });

  it("runs principal B's request as B's own, never replaying principal A's response", async () => {
    const key = sf(randomUUID());
    const asA = { authorization: "Bearer token-a" };
    const asB = { authorization: "Bearer token-b" };

    const a1 = await send(app.url, "/whoami", { key, body: { x: 1 }, headers: asA });
    const b1 = await send(app.url, "/whoami", { key, body: { x: 1 }, headers: asB });
    const a2 = await send(app.url, "/whoami", { key, body: { x: 1 }, headers: asA });

    expect(a1.json()).toMatchObject({ user: "Bearer token-a" });
    expect(b1.status).toBe(201);
    expect(b1.headers["idempotent-replayed"]).toBeUndefined();
    expect(b1.json()).toMatchObject({ user: "Bearer token-b" });
    expect(a2.headers["idempotent-replayed"]).toBe("true");
    expect(a2.json()).toEqual(a1.json());
  });

  it("does not store a 500: the retry runs again, and Set-Cookie is never replayed", async () => {
    const key = sf(randomUUID());

    const failed = await send(app.url, "/flaky", { key, body: { n: 1 } });
    const retried = await send(app.url, "/flaky", { key, body: { n: 1 } });
    const replayed = await send(app.url, "/flaky", { key, body: { n: 1 } });

    expect(failed.status).toBe(500);
    expect(retried.status).toBe(201);
    expect(retried.headers["set-cookie"]).toBeDefined();
    expect(app.runs.get("flaky")).toBe(2);
    expect(replayed.status).toBe(201);
    expect(replayed.headers["idempotent-replayed"]).toBe("true");
    expect(replayed.headers["set-cookie"]).toBeUndefined();
    expect(replayed.json()).toEqual(retried.json());
  });

  it("sends a response over maxResponseBytes once, and tells duplicates it cannot be replayed", async () => {
    const key = sf(randomUUID());

    const first = await send(app.url, "/big", { key, body: { n: 1 } });
    const second = await send(app.url, "/big", { key, body: { n: 1 } });

    expect(first.status).toBe(200);
    expect(first.text).toHaveLength(4096);
    const problem = expectProblem(second, 500);
    expect(problem).toMatchObject({
      code: "IDEMKIT_RESULT_UNAVAILABLE",
      originalStatus: 200,
    });
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(app.runs.get("big")).toBe(1);
  });

  it("replays a chunked response that fit the limit, without running it twice", async () => {
    const key = sf(randomUUID());

    const first = await send(app.url, "/stream", { key, body: { n: 1 } });
    const second = await send(app.url, "/stream", { key, body: { n: 1 } });

    expect(first.status).toBe(200);
    expect(first.text).toBe("abc1");
    expect(second.status).toBe(200);
    expect(second.text).toBe("abc1");
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(app.runs.get("stream")).toBe(1);
  });

  it("passes a streamed response through as it is produced, then replays it", async () => {
    const key = sf(randomUUID());

    // The handler sends its second line only once the client has the first:
    // a middleware that held the stream back would never deliver it.
    const first = await sendStreaming(app.url, "/live", key, (text) => {
      if (text.includes('"line":1')) app.openLive();
    });
    const second = await send(app.url, "/live", { key, body: { n: 1 } });

    expect(first).toBe('{"line":1}\n{"line":2}\n');
    expect(second.status).toBe(200);
    expect(second.text).toBe(first);
    expect(second.headers["idempotent-replayed"]).toBe("true");
    expect(app.runs.get("live")).toBe(1);
  });

  it("exposes Idempotent-Replayed to scripts on a cross-origin replay", async () => {
    const key = sf(randomUUID());
    const headers = { origin: "http://client.test" };

    await send(app.url, "/whoami", { key, body: { x: 2 }, headers });
    const replay = await send(app.url, "/whoami", { key, body: { x: 2 }, headers });

    expect(replay.headers["access-control-expose-headers"]).toMatch(
      /Idempotent-Replayed/,
    );
  });

  it("answers 409 with Retry-After while another process holds the key, then replays", async () => {
    const other = await startApp(framework, {
      store: anotherProcessView(store),
      ...LIMITS,
    });
    const key = sf(randomUUID());
    try {
      const running = send(app.url, "/slow", { key, body: { s: 1 } });
      await sleep(150);
      const busy = await send(other.url, "/slow", { key, body: { s: 1 } });
      const first = await running;
      const later = await send(other.url, "/slow", { key, body: { s: 1 } });

      expect(expectProblem(busy, 409).code).toBe("IDEMKIT_IN_PROGRESS");
      expect(busy.headers["retry-after"]).toBe("1");
      expect(first.status).toBe(201);
      expect(later.headers["idempotent-replayed"]).toBe("true");
      expect(later.json()).toEqual(first.json());
      expect(app.runs.get("slow")).toBe(1);
      expect(other.runs.get("slow")).toBeUndefined();
    } finally {
      await other.close();
    }
  });

  it("answers 503 when the store fails, without running the handler", async () => {
    const broken: IdempotencyStore = {
      ...anotherProcessView(new MemoryStore()),
      claim: () => Promise.reject(new Error("connection refused")),
    };
    const down = await startApp(framework, { store: broken, ...LIMITS });
    try {
      const res = await send(down.url, "/orders", {
        key: sf(randomUUID()),
        body: { a: 1 },
      });

      expect(expectProblem(res, 503).code).toBe("IDEMKIT_STORE");
      expect(down.runs.get("orders")).toBeUndefined();
    } finally {
      await down.close();
    }
  });
});
