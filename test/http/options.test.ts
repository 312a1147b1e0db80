/**
 * The HTTP options, one at a time: which methods take part, a custom
 * fingerprint, fingerprint headers, the replay header allow-list, which
 * statuses are stored, and `required: false`. Most run on the Web core with
 * plain `Request`s; the allow-list also runs on Express, whose adapter reads
 * the response headers itself.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpIdempotencyOptions } from "../../src/http/options.js";
import { withIdempotency } from "../../src/http/web.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { type RunningApp, startApp } from "./support/apps.js";
import { send, sf } from "./support/request.js";

const REPLAYED = "idempotent-replayed";

function call(
  method: string,
  key: string | undefined,
  body?: string,
  headers: Record<string, string> = {},
): Request {
  return new Request("http://127.0.0.1/orders", {
    method,
    headers: {
      "content-type": "application/json",
      ...(key === undefined ? {} : { "idempotency-key": key }),
      ...headers,
    },
    body: body ?? null,
  });
}

/** A wrapped handler that counts its runs and answers with the run number. */
function counted(
  options: Omit<HttpIdempotencyOptions, "store"> = {},
  respond: (n: number, req: Request) => Response = (n) =>
    Response.json({ n }, { status: 201 }),
) {
  const state = { runs: 0 };
  const handler = withIdempotency(async (req) => respond(++state.runs, req), {
    store: new MemoryStore(),
    ...options,
  });
  return { handler, state };
}

const newKey = () => sf(randomUUID());

describe("HTTP options", () => {
  describe("methods", () => {
    it("puts PATCH under the protocol by default, so a duplicate is replayed", async () => {
      const { handler, state } = counted();
      const key = newKey();

      const first = await handler(call("PATCH", key, '{"qty":2}'));
      const again = await handler(call("PATCH", key, '{"qty":2}'));

      expect(first.headers.get(REPLAYED)).toBeNull();
      expect(again.status).toBe(201);
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(await again.json()).toEqual({ n: 1 });
      expect(state.runs).toBe(1);
    });

    it("lets PUT, DELETE and GET through untouched by default, even with a key", async () => {
      const { handler, state } = counted();
      const key = newKey();
      const requests = [
        call("PUT", key, "{}"),
        call("PUT", key, "{}"),
        call("DELETE", key),
        call("DELETE", key),
        call("GET", key),
        call("GET", key),
      ];

      const responses = [];
      for (const request of requests) responses.push(await handler(request));

      expect(state.runs).toBe(6);
      expect(responses.map((r) => r.headers.get(REPLAYED))).toEqual(Array(6).fill(null));
      expect(await responses[5]!.json()).toEqual({ n: 6 });
    });

    it("applies the protocol to the listed methods only", async () => {
      const { handler, state } = counted({ methods: ["PUT"] });
      const putKey = newKey();
      const postKey = newKey();

      await handler(call("PUT", putKey, "{}"));
      const putAgain = await handler(call("PUT", putKey, "{}"));
      await handler(call("POST", postKey, "{}"));
      const postAgain = await handler(call("POST", postKey, "{}"));

      expect(putAgain.headers.get(REPLAYED)).toBe("true");
      expect(await putAgain.json()).toEqual({ n: 1 });
      expect(postAgain.headers.get(REPLAYED)).toBeNull();
      expect(await postAgain.json()).toEqual({ n: 3 });
      expect(state.runs).toBe(3);
    });

    it("accepts method names in any case", async () => {
      const { handler, state } = counted({ methods: ["put"] });
      const key = newKey();

      await handler(call("PUT", key, "{}"));
      const again = await handler(call("PUT", key, "{}"));

      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(state.runs).toBe(1);
    });
  });

  describe("fingerprint", () => {
    // The fingerprint says what makes two requests "the same": here, only
    // the order id in the body, whatever else the body holds.
    const byOrderId = (_req: unknown, body: unknown): string => {
      const text = new TextDecoder().decode(body as Uint8Array);
      return String((JSON.parse(text) as { orderId: unknown }).orderId);
    };

    it("treats requests it maps to the same value as the same request, even with different bodies", async () => {
      const { handler, state } = counted({ fingerprint: byOrderId });
      const key = newKey();

      const first = await handler(call("POST", key, '{"orderId":7,"note":"first"}'));
      const again = await handler(
        call("POST", key, '{"note":"retry","orderId":7,"x":1}'),
      );

      expect(first.status).toBe(201);
      expect(again.status).toBe(201);
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(await again.json()).toEqual({ n: 1 });
      expect(state.runs).toBe(1);
    });

    it("answers 422 without running the handler when it maps two requests with one key apart", async () => {
      const { handler, state } = counted({
        fingerprint: (req) => req.header("x-intent") ?? "",
      });
      const key = newKey();

      await handler(call("POST", key, "{}", { "x-intent": "charge" }));
      const other = await handler(call("POST", key, "{}", { "x-intent": "refund" }));

      expect(other.status).toBe(422);
      expect(other.headers.get(REPLAYED)).toBeNull();
      expect(state.runs).toBe(1);
    });

    it("is given the method, the path with query, the headers and the body bytes", async () => {
      const seen: { method: string; url: string; header: unknown; body: string }[] = [];
      const handler = withIdempotency(() => new Response("ok"), {
        store: new MemoryStore(),
        fingerprint: (req, body) => {
          seen.push({
            method: req.method,
            url: req.url,
            header: req.header("x-intent"),
            body: new TextDecoder().decode(body as Uint8Array),
          });
          return "same";
        },
      });

      await handler(
        new Request("http://127.0.0.1/orders?draft=1", {
          method: "POST",
          headers: { "idempotency-key": newKey(), "X-Intent": "charge" },
          body: '{"a":1}',
        }),
      );

      expect(seen).toEqual([
        { method: "POST", url: "/orders?draft=1", header: "charge", body: '{"a":1}' },
      ]);
    });

    it("ignores fingerprintHeaders when a fingerprint function is given", async () => {
      const { handler, state } = counted({
        fingerprint: () => "always the same",
        fingerprintHeaders: ["x-api-version"],
      });
      const key = newKey();

      await handler(call("POST", key, "{}", { "x-api-version": "1" }));
      const again = await handler(call("POST", key, "{}", { "x-api-version": "2" }));

      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(state.runs).toBe(1);
    });
  });

  describe("fingerprintHeaders", () => {
    it("answers 422 without running the handler when a chosen header changes under one key", async () => {
      const { handler, state } = counted({ fingerprintHeaders: ["X-Api-Version"] });
      const key = newKey();

      await handler(call("POST", key, "{}", { "x-api-version": "2024-01" }));
      const changed = await handler(
        call("POST", key, "{}", { "x-api-version": "2025-01" }),
      );
      const dropped = await handler(call("POST", key, "{}"));

      expect(changed.status).toBe(422);
      expect(dropped.status).toBe(422);
      expect(state.runs).toBe(1);
    });

    it("replays when only a header that was not chosen differs", async () => {
      const { handler, state } = counted({ fingerprintHeaders: ["x-api-version"] });
      const key = newKey();

      await handler(
        call("POST", key, "{}", { "x-api-version": "1", "x-request-id": "first" }),
      );
      const again = await handler(
        call("POST", key, "{}", { "x-api-version": "1", "x-request-id": "second" }),
      );

      expect(again.status).toBe(201);
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(state.runs).toBe(1);
    });

    describe("on Express", () => {
      let app: RunningApp;

      beforeAll(async () => {
        app = await startApp("express", {
          store: new MemoryStore(),
          fingerprintHeaders: ["X-Api-Version"],
        });
      });
      afterAll(() => app.close());

      it("matches a chosen header named in any case against the request's headers", async () => {
        const key = newKey();
        const v1 = { "x-api-version": "1" };

        await send(app.url, "/orders", { key, body: { a: 1 }, headers: v1 });
        const same = await send(app.url, "/orders", { key, body: { a: 1 }, headers: v1 });
        const changed = await send(app.url, "/orders", {
          key,
          body: { a: 1 },
          headers: { "x-api-version": "2" },
        });

        expect(same.headers[REPLAYED]).toBe("true");
        expect(changed.status).toBe(422);
        expect(app.runs.get("orders")).toBe(1);
      });
    });
  });

  describe("replayHeaders", () => {
    const withHeaders = (n: number): Response =>
      Response.json(
        { n },
        {
          status: 201,
          headers: {
            "x-order-version": `v${n}`,
            etag: `"e${n}"`,
            location: `/orders/${n}`,
          },
        },
      );

    it("replays the listed headers, including custom ones, and drops the ones it no longer lists", async () => {
      const { handler } = counted(
        { replayHeaders: ["X-Order-Version", "location", "content-type"] },
        withHeaders,
      );
      const key = newKey();

      const first = await handler(call("POST", key, "{}"));
      const again = await handler(call("POST", key, "{}"));

      expect(first.headers.get("etag")).toBe('"e1"');
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(again.headers.get("x-order-version")).toBe("v1");
      expect(again.headers.get("location")).toBe("/orders/1");
      expect(again.headers.get("content-type")).toMatch(/^application\/json/);
      expect(again.headers.get("etag")).toBeNull();
    });

    it("does not replay a custom header under the default list", async () => {
      const { handler } = counted({}, withHeaders);
      const key = newKey();

      await handler(call("POST", key, "{}"));
      const again = await handler(call("POST", key, "{}"));

      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(again.headers.get("etag")).toBe('"e1"');
      expect(again.headers.get("x-order-version")).toBeNull();
    });

    it("never replays cookies or authentication headers, even when they are listed", async () => {
      const secret = {
        "set-cookie": "session=s1",
        "set-cookie2": "old=1",
        authorization: "Bearer owner",
        "proxy-authorization": "Basic b3duZXI=",
        "www-authenticate": 'Bearer realm="api"',
        "proxy-authenticate": 'Basic realm="proxy"',
      };
      const { handler } = counted(
        {
          replayHeaders: [
            "x-order-version",
            ...Object.keys(secret).map((h) => h.toUpperCase()),
          ],
        },
        (n) =>
          Response.json({ n }, { headers: { ...secret, "x-order-version": `v${n}` } }),
      );
      const key = newKey();

      const first = await handler(call("POST", key, "{}"));
      const again = await handler(call("POST", key, "{}"));

      for (const [name, value] of Object.entries(secret)) {
        expect(first.headers.get(name)).toBe(value);
      }
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(again.headers.get("x-order-version")).toBe("v1");
      for (const name of Object.keys(secret)) {
        expect(again.headers.get(name), name).toBeNull();
      }
    });

    it("never replays the handler's own Idempotent-Replayed header, even when it is listed", async () => {
      const { handler } = counted({ replayHeaders: ["idempotent-replayed"] }, (n) =>
        Response.json({ n }, { headers: { "idempotent-replayed": "from-handler" } }),
      );
      const key = newKey();

      await handler(call("POST", key, "{}"));
      const again = await handler(call("POST", key, "{}"));

      expect(again.headers.get(REPLAYED)).toBe("true");
    });

    describe("on Express", () => {
      let app: RunningApp;

      beforeAll(async () => {
        app = await startApp("express", {
          store: new MemoryStore(),
          replayHeaders: ["x-trace", "location", "set-cookie"],
        });
      });
      afterAll(() => app.close());

      it("replays the listed custom header and never the listed Set-Cookie", async () => {
        const key = newKey();

        const owner = await send(app.url, "/orders", { key, body: { a: 1 } });
        const again = await send(app.url, "/orders", { key, body: { a: 1 } });

        expect(owner.headers["set-cookie"]).toBeDefined();
        expect(again.status).toBe(201);
        expect(again.headers[REPLAYED]).toBe("true");
        expect(again.headers["x-trace"]).toBe("t1");
        expect(again.headers.location).toBe("/orders/1");
        expect(again.headers.etag).toBeUndefined();
        expect(again.headers["set-cookie"]).toBeUndefined();
        expect(app.runs.get("orders")).toBe(1);
      });
    });
  });

  describe("storeStatus", () => {
    it("stores a status it accepts, so the retry is replayed", async () => {
      const { handler, state } = counted(
        { storeStatus: (status) => status === 503 },
        (n) => Response.json({ n }, { status: n === 1 ? 503 : 201 }),
      );
      const key = newKey();

      const first = await handler(call("POST", key, "{}"));
      const again = await handler(call("POST", key, "{}"));

      expect(first.status).toBe(503);
      expect(again.status).toBe(503);
      expect(again.headers.get(REPLAYED)).toBe("true");
      expect(await again.json()).toEqual({ n: 1 });
      expect(state.runs).toBe(1);
    });

    it("does not store a status it declines, so the retry runs the handler again", async () => {
      const { handler, state } = counted(
        { storeStatus: (status) => status !== 201 },
        (n) => Response.json({ n }, { status: n === 1 ? 201 : 200 }),
      );
      const key = newKey();

      const first = await handler(call("POST", key, "{}"));
      const second = await handler(call("POST", key, "{}"));
      const third = await handler(call("POST", key, "{}"));

      expect(first.status).toBe(201);
      expect(second.status).toBe(200);
      expect(second.headers.get(REPLAYED)).toBeNull();
      expect(await second.json()).toEqual({ n: 2 });
      expect(third.headers.get(REPLAYED)).toBe("true");
      expect(state.runs).toBe(2);
    });
  });

  describe("required", () => {
    it("passes a POST or PATCH without a key to the handler every time by default", async () => {
      const { handler, state } = counted({}, (n, req) =>
        Response.json({ n, method: req.method }, { status: 201 }),
      );

      const a = await handler(call("POST", undefined, '{"a":1}'));
      const b = await handler(call("POST", undefined, '{"a":1}'));
      const c = await handler(call("PATCH", undefined, '{"a":1}'));

      expect([a.status, b.status, c.status]).toEqual([201, 201, 201]);
      expect([a, b, c].map((r) => r.headers.get(REPLAYED))).toEqual([null, null, null]);
      expect(await c.json()).toEqual({ n: 3, method: "PATCH" });
      expect(state.runs).toBe(3);
    });

    it("hands a request without a key to the handler as it came, with required: false", async () => {
      const { handler, state } = counted({ required: false }, (n, req) =>
        Response.json({ n, sameRequest: req === original }),
      );
      const original = call("POST", undefined, '{"a":1}');

      const a = await handler(original);
      const b = await handler(call("POST", undefined, '{"a":1}'));

      expect(await a.json()).toEqual({ n: 1, sameRequest: true });
      expect(await b.json()).toEqual({ n: 2, sameRequest: false });
      expect(state.runs).toBe(2);
    });
  });
});
