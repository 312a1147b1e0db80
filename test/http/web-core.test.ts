/**
 * The framework-free core, called directly with Web `Request`s: options
 * the adapter suite does not vary (pass-through, scope, fingerprint
 * headers, stored statuses, event streams, configuration errors).
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { IdempotencyConfigError } from "../../src/core/errors.js";
import type { HttpIdempotencyOptions } from "../../src/http/options.js";
import { withIdempotency } from "../../src/http/web.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";

function post(
  key: string | undefined,
  body: string,
  headers: Record<string, string> = {},
) {
  return new Request("http://127.0.0.1/things?x=1", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(key === undefined ? {} : { "idempotency-key": key }),
      ...headers,
    },
    body,
  });
}

function counted(
  respond: (req: Request, n: number) => Response | Promise<Response>,
  options: Omit<HttpIdempotencyOptions, "store"> = {},
) {
  const state = { runs: 0 };
  const handler = withIdempotency(async (req) => respond(req, ++state.runs), {
    store: new MemoryStore(),
    ...options,
  });
  return { handler, state };
}

describe("withIdempotency", () => {
  it("passes requests without a key, and other methods, straight to the handler", async () => {
    const { handler, state } = counted((_req, n) => Response.json({ n }));

    const a = await handler(post(undefined, "{}"));
    const b = await handler(post(undefined, "{}"));
    const get = await handler(
      new Request("http://127.0.0.1/things", { headers: { "idempotency-key": '"k"' } }),
    );

    expect([a.status, b.status, get.status]).toEqual([200, 200, 200]);
    expect(state.runs).toBe(3);
    expect(a.headers.get("idempotent-replayed")).toBeNull();
  });

  it("hands the handler the request body after reading it for the fingerprint", async () => {
    const { handler } = counted(async (req) => Response.json(await req.json()));

    const res = await handler(post('"k1"', '{"amount":10}'));

    expect(await res.json()).toEqual({ amount: 10 });
  });

  it("keys records by the scope function, so two tenants never share a key", async () => {
    const { handler, state } = counted(
      (req, n) => Response.json({ tenant: req.headers.get("x-tenant"), n }),
      {
        scope: (req) => req.header("x-tenant") ?? "",
      },
    );

    const t1 = await handler(post('"same"', "{}", { "x-tenant": "t1" }));
    const t2 = await handler(post('"same"', "{}", { "x-tenant": "t2" }));
    const t1again = await handler(post('"same"', "{}", { "x-tenant": "t1" }));

    expect(await t2.json()).toEqual({ tenant: "t2", n: 2 });
    expect(await t1again.json()).toEqual(await t1.json());
    expect(state.runs).toBe(2);
  });

  it("scopes by the configured cookie as well as Authorization", async () => {
    const { handler, state } = counted((_req, n) => Response.json({ n }), {
      scopeCookie: "sid",
    });

    await handler(post('"c"', "{}", { cookie: "theme=dark; sid=alice" }));
    const other = await handler(post('"c"', "{}", { cookie: "sid=bob" }));
    const same = await handler(post('"c"', "{}", { cookie: "sid=alice; theme=light" }));

    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect(same.headers.get("idempotent-replayed")).toBe("true");
    expect(state.runs).toBe(2);
  });

  it("adds the chosen headers to the fingerprint", async () => {
    const { handler } = counted(() => Response.json({}), {
      fingerprintHeaders: ["x-api-version"],
    });

    await handler(post('"v"', "{}", { "x-api-version": "1" }));
    const changed = await handler(post('"v"', "{}", { "x-api-version": "2" }));

    expect(changed.status).toBe(422);
  });

  it("tells a different query string apart, and hashes non-JSON bodies as bytes", async () => {
    const { handler } = counted(() => new Response("ok"));
    const text = (key: string, body: string, url = "http://127.0.0.1/a?x=1") =>
      new Request(url, {
        method: "POST",
        headers: { "idempotency-key": key, "content-type": "text/plain" },
        body,
      });

    await handler(text('"q"', "hello"));
    const otherQuery = await handler(text('"q"', "hello", "http://127.0.0.1/a?x=2"));
    await handler(text('"b"', "hello"));
    const otherBytes = await handler(text('"b"', "hello!"));

    expect(otherQuery.status).toBe(422);
    expect(otherBytes.status).toBe(422);
  });

  it("stores the statuses storeStatus accepts, and no others", async () => {
    const { handler, state } = counted(
      (_req, n) => new Response(null, { status: n === 1 ? 404 : 201 }),
      {
        storeStatus: (status) => status < 400,
      },
    );

    const first = await handler(post('"s"', "{}"));
    const second = await handler(post('"s"', "{}"));
    const third = await handler(post('"s"', "{}"));

    expect([first.status, second.status, third.status]).toEqual([404, 201, 201]);
    expect(third.headers.get("idempotent-replayed")).toBe("true");
    expect(state.runs).toBe(2);
  });

  it("does not store 408 or 429 by default", async () => {
    const { handler, state } = counted(
      (_req, n) => new Response(null, { status: n === 1 ? 429 : n === 2 ? 408 : 200 }),
    );

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await handler(post('"r"', "{}"))).status);

    expect(statuses).toEqual([429, 408, 200, 200]);
    expect(state.runs).toBe(3);
  });

  it("passes an event stream through at once and records it as not replayable", async () => {
    const { handler, state } = counted(() => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("data: 1\n\n"));
          // Left open, as a live event stream is.
        },
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    });

    const live = await handler(post('"sse"', "{}"));
    const reader = live.body!.getReader();
    const first = await reader.read();
    await reader.cancel();
    const duplicate = await handler(post('"sse"', "{}"));

    expect(new TextDecoder().decode(first.value)).toBe("data: 1\n\n");
    expect(duplicate.status).toBe(500);
    expect(await duplicate.json()).toMatchObject({
      code: "IDEMKIT_RESULT_UNAVAILABLE",
      originalStatus: 200,
    });
    expect(state.runs).toBe(1);
  });

  it("runs a keyed request whose body stream turns out empty, and replays it", async () => {
    const { handler, state } = counted(async (req) =>
      Response.json({ text: await req.text() }, { status: 201 }),
    );
    const emptyStream = () =>
      new Request("http://127.0.0.1/things", {
        method: "POST",
        headers: { "idempotency-key": '"empty-body"' },
        body: new ReadableStream<Uint8Array>({
          start: (controller) => controller.close(),
        }),
        duplex: "half",
      } as RequestInit);

    const first = await handler(emptyStream());
    const again = await handler(emptyStream());

    expect(first.status).toBe(201);
    expect(await first.json()).toEqual({ text: "" });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(state.runs).toBe(1);
  });

  it("frees the key when the handler throws, so the retry runs", async () => {
    const { handler, state } = counted((_req, n) => {
      if (n === 1) throw new Error("boom");
      return Response.json({ n });
    });
    const key = `"${randomUUID()}"`;

    await expect(handler(post(key, "{}"))).rejects.toThrow("boom");
    const retry = await handler(post(key, "{}"));

    expect(await retry.json()).toEqual({ n: 2 });
    expect(state.runs).toBe(2);
  });

  it("rejects bad options when the wrapper is made, not on the first request", () => {
    const store = new MemoryStore();
    const handler = () => new Response();

    expect(() => withIdempotency(handler, { store, maxBodyBytes: -1 })).toThrow(
      IdempotencyConfigError,
    );
    expect(() =>
      withIdempotency(handler, { store, busyRetryAfter: "soon" as "1s" }),
    ).toThrow(IdempotencyConfigError);
    expect(() =>
      withIdempotency(handler, { store: undefined as unknown as MemoryStore }),
    ).toThrow(IdempotencyConfigError);
  });
});

describe("withIdempotency with concurrent duplicates of a failure", () => {
  it("shares a 5xx with duplicates in flight without marking it a replay, and runs the retry", async () => {
    let runs = 0;
    const handler = withIdempotency(
      async () => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        return Response.json({ runs }, { status: runs === 1 ? 503 : 201 });
      },
      { store: new MemoryStore() },
    );

    const together = await Promise.all([
      handler(post('"f"', "{}")),
      handler(post('"f"', "{}")),
    ]);
    const retry = await handler(post('"f"', "{}"));

    expect(together.map((r) => r.status)).toEqual([503, 503]);
    expect(together.map((r) => r.headers.get("idempotent-replayed"))).toEqual([
      null,
      null,
    ]);
    expect(retry.status).toBe(201);
    expect(runs).toBe(2);
  });
});
