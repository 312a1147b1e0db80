/**
 * Property tests: random `Idempotency-Key` values never crash the parser or
 * the middleware, and only ever produce 400 or a normal run.
 */
import { Agent } from "node:http";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatIdempotencyKey, parseIdempotencyKey } from "../../src/http/key-header.js";
import { withIdempotency } from "../../src/http/web.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { FRAMEWORKS, type RunningApp, startApp } from "./support/apps.js";
import { send } from "./support/request.js";

// Characters an HTTP/1.1 header value can carry (tab, visible ASCII, obs-text).
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.constantFrom(0x09, 0x22, 0x5c, 0x2c, 0x3b),
  fc.integer({ min: 0x80, max: 0xff }),
);
const anyValue = fc
  .array(headerChar, { maxLength: 300 })
  .map((codes) => String.fromCharCode(...codes));
// Values shaped like keys, so the valid paths are well covered too.
const keyish = fc.oneof(
  anyValue.map((v) => `"${v}"`),
  fc.stringMatching(/^[A-Za-z0-9_.:-]{0,260}$/),
  fc
    .array(fc.stringMatching(/^[a-z0-9]{1,8}$/), { minLength: 2, maxLength: 3 })
    .map((keys) => keys.map((k) => `"${k}"`).join(", ")),
);
const headerValue = fc.oneof(anyValue, keyish);

describe("parseIdempotencyKey", () => {
  it("never throws, and every key it accepts is 1-255 printable ASCII characters", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), headerValue), (value) => {
        const parsed = parseIdempotencyKey(value);

        if (parsed.ok) {
          expect(parsed.key.length).toBeGreaterThanOrEqual(1);
          expect(parsed.key.length).toBeLessThanOrEqual(255);
          expect(parsed.key).toMatch(/^[\x20-\x7e]+$/);
        } else {
          expect(parsed.reason.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 20_000 },
    );
  });

  it("reads back every key it formats as a Structured Field string", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{1,255}$/), (key) => {
        expect(parseIdempotencyKey(formatIdempotencyKey(key))).toEqual({ ok: true, key });
      }),
      { numRuns: 5_000 },
    );
  });
});

describe("withIdempotency with random header values", () => {
  it("answers 400 or runs the handler for 10,000 values, and never fails otherwise", async () => {
    const store = new MemoryStore();
    const handler = withIdempotency(
      async (req) => Response.json({ got: await req.text() }, { status: 201 }),
      { store },
    );
    let runs = 0;
    let accepted = 0;

    await fc.assert(
      fc.asyncProperty(headerValue, async (value) => {
        let request: Request;
        try {
          request = new Request("http://127.0.0.1/orders", {
            method: "POST",
            headers: { "idempotency-key": value, "content-type": "application/json" },
            body: '{"a":1}',
          });
        } catch {
          return; // Not a value the Fetch API lets anyone send.
        }

        const res = await handler(request);

        runs++;
        if (res.status === 201) accepted++;
        expect([201, 400]).toContain(res.status);
        if (res.status === 400) {
          expect(res.headers.get("content-type")).toBe("application/problem+json");
        }
        await res.arrayBuffer();
      }),
      { numRuns: 10_000 },
    );
    expect(runs).toBeGreaterThan(9_000);
    expect(accepted).toBeGreaterThan(1_000);
    expect(runs - accepted).toBeGreaterThan(1_000);
    await store.close();
  });
});

describe.each(FRAMEWORKS)(
  "%s adapter with random header values over HTTP",
  (framework) => {
    let app: RunningApp;
    let store: MemoryStore;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });

    beforeAll(async () => {
      store = new MemoryStore();
      app = await startApp(framework, { store });
    });
    afterAll(async () => {
      agent.destroy();
      await app.close();
      await store.close();
    });

    it("answers 400 or runs the handler for 4,000 values, and keeps serving", async () => {
      const seen = new Map<number, number>();

      await fc.assert(
        fc.asyncProperty(headerValue, async (value) => {
          const res = await send(app.url, "/whoami", {
            key: value,
            body: { a: 1 },
            agent,
          });

          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          expect([201, 400]).toContain(res.status);
        }),
        { numRuns: 4_000 },
      );

      const after = await send(app.url, "/orders", { method: "GET", agent });
      expect(after.status).toBe(200);
      expect(seen.get(201)).toBeGreaterThan(100);
      expect(seen.get(400)).toBeGreaterThan(100);
    });
  },
);
