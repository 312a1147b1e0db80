/**
 * The protocol's owner step against the two kinds of store: an in-process
 * store records the response inside `finish()` (adapters then end the
 * response in the same tick, which Fastify needs to skip work per request),
 * while a store across the network makes `finish()` a promise that
 * resolves once the record is written. Either way a duplicate sent after
 * `finish()` is over gets the replay.
 */
import { describe, expect, it } from "vitest";
import { nodeRequestView } from "../../src/http/node-headers.js";
import { IdempotencyProtocol, type Step } from "../../src/http/protocol.js";
import { MemoryStore } from "../../src/stores/memory/memory-store.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { anotherProcessView } from "../support/delegating-store.js";

const view = (key: string) =>
  nodeRequestView("POST", "/orders", {
    "idempotency-key": `"${key}"`,
    "content-type": "application/json",
  });

const answer = { status: 201, headers: [["content-type", "application/json"]] as const };

async function replayOf(protocol: IdempotencyProtocol, key: string): Promise<Step> {
  return protocol.execute(view(key), key, { amount: 1 });
}

describe("the owner's finish()", () => {
  it.each([
    ["memory", () => new MemoryStore()],
    ["sqlite", () => new SqliteStore({ path: ":memory:" })],
  ])("on the %s store writes the record before it returns", async (_, open) => {
    const protocol = new IdempotencyProtocol({ store: open() });
    const step = await protocol.execute(view("a"), "a", { amount: 1 });
    if (step.kind !== "run") throw new Error(`expected to run, got ${step.kind}`);

    expect(step.finish({ ...answer, body: Buffer.from('{"id":1}') })).toBeUndefined();
    const again = await replayOf(protocol, "a");
    expect(again.kind).toBe("reply");
    if (again.kind === "reply") {
      expect(again.reply.status).toBe(201);
      expect(Buffer.from(again.reply.body).toString()).toBe('{"id":1}');
      expect(again.reply.headers).toContainEqual(["idempotent-replayed", "true"]);
    }
  });

  it("on a store across the network resolves once the record is written", async () => {
    // The memory store behind an object without its synchronous calls, as
    // Redis and Postgres are.
    const protocol = new IdempotencyProtocol({
      store: anotherProcessView(new MemoryStore()),
    });
    const step = await protocol.execute(view("b"), "b", { amount: 1 });
    if (step.kind !== "run") throw new Error(`expected to run, got ${step.kind}`);

    const written = step.finish({ ...answer, body: Buffer.from('{"id":2}') });
    expect(written).toBeInstanceOf(Promise);
    await written;
    const again = await replayOf(protocol, "b");
    expect(again.kind).toBe("reply");
    if (again.kind === "reply")
      expect(Buffer.from(again.reply.body).toString()).toBe('{"id":2}');
  });

  it("a 5xx is not stored: the in-process owner gives the key back", async () => {
    const protocol = new IdempotencyProtocol({ store: new MemoryStore() });
    const step = await protocol.execute(view("c"), "c", { amount: 1 });
    if (step.kind !== "run") throw new Error(`expected to run, got ${step.kind}`);
    await step.finish({ status: 503, headers: [], body: Buffer.from("busy") });

    const retry = await protocol.execute(view("c"), "c", { amount: 1 });
    expect(retry.kind).toBe("run");
  });

  it("a same-key request with another body while the owner runs gets 422", async () => {
    const protocol = new IdempotencyProtocol({ store: new MemoryStore() });
    const step = await protocol.execute(view("d"), "d", { amount: 1 });
    expect(step.kind).toBe("run");
    const other = await protocol.execute(view("d"), "d", { amount: 2 });
    expect(other.kind === "reply" && other.reply.status).toBe(422);
  });
});
