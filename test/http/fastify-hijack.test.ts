/**
 * Fastify only: a reply the handler hijacks bypasses `onSend`; the key
 * must not stay in progress, and the handler must not run twice.
 */
import type { AddressInfo } from "node:net";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idempotency } from "../../src/http/fastify/index.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { send } from "./support/request.js";

describe("idempotency plugin on fastify with a hijacked reply", () => {
  const app = Fastify();
  let url: string;
  let runs = 0;

  beforeAll(async () => {
    await app.register(idempotency({ store: new MemoryStore() }));
    app.post("/raw", async (_req, reply) => {
      runs++;
      reply.hijack();
      reply.raw.writeHead(200, { "content-type": "text/plain" });
      reply.raw.end("raw answer");
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => app.close());

  it("records the hijacked response as not replayable, and never runs it twice", async () => {
    const first = await send(url, "/raw", { key: '"h1"', body: { a: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await send(url, "/raw", { key: '"h1"', body: { a: 1 } });

    expect(first.text).toBe("raw answer");
    expect(second.status).toBe(500);
    expect(second.json()).toMatchObject({
      code: "IDEMKIT_RESULT_UNAVAILABLE",
      originalStatus: 200,
    });
    expect(runs).toBe(1);
  });
});
