import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordId } from "../../../src/core/record.js";
import type { IdempotencyStore } from "../../../src/stores/contract.js";
import { MemoryStore } from "../../../src/stores/memory/memory-store.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import { recordKey } from "../../../src/stores/redis/key-layout.js";
import { redisForTests } from "../../support/redis.js";
import { dropPrefix, freshPrefix, openClient, type TestClient } from "./fixtures.js";

const redis = await redisForTests("RedisStore specifics");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(redis.skip !== undefined)("RedisStore", () => {
  const prefix = freshPrefix("store");
  let client: TestClient;
  let store: RedisStore;
  const newId = (): RecordId => ({
    namespace: `ns-${randomUUID()}`,
    scope: "",
    key: "k",
  });
  const claimOf = (id: RecordId, leaseMs = 5_000, ttlMs = 60_000) => ({
    id,
    fingerprint: "fp",
    leaseMs,
    ttlMs,
  });
  const pttl = async (id: RecordId) =>
    Number(await client.command(["PTTL", recordKey(prefix, id)]));

  beforeAll(async () => {
    client = await openClient("node-redis", redis.url as string);
    store = new RedisStore({ client: client.client, prefix });
  });

  afterAll(async () => {
    await dropPrefix(client, prefix);
    await client.close();
  });

  it("stores tokens as plain integers drawn from the server clock in microseconds", async () => {
    const id = newId();

    const outcome = await store.claim(claimOf(id));
    const meta = String(await client.command(["HGET", recordKey(prefix, id), "m"]));
    const raw = meta.split(" ")[1];

    expect(raw).toMatch(/^\d{16,}$/);
    expect(outcome.record.token).toBe(Number(raw));
    expect(Math.abs(outcome.record.token / 1000 - Date.now())).toBeLessThan(60_000);
  });

  it("keeps an in-progress key alive for its lease, and a settled one for its ttl", async () => {
    const id = newId();
    const first = await store.claim(claimOf(id, 3_000, 100));
    const whileRunning = await pttl(id);
    await store.extend(id, first.record.token, 8_000);
    const extended = await pttl(id);

    await store.complete(id, first.record.token, { result: "v1", ttlMs: 1_500 });
    const settled = await pttl(id);

    expect(whileRunning).toBeGreaterThan(2_500);
    expect(extended).toBeGreaterThan(7_500);
    expect(settled).toBeGreaterThan(1_000);
    expect(settled).toBeLessThanOrEqual(1_500);
  });

  it("lets Redis expire records by itself, so sweep has nothing to do", async () => {
    const id = newId();
    const first = await store.claim(claimOf(id, 20, 20));
    await store.complete(id, first.record.token, { result: "v1", ttlMs: 30 });
    await sleep(80);

    expect(await client.command(["EXISTS", recordKey(prefix, id)])).toBe(0);
    expect(await store.sweep()).toBe(0);
  });

  it("pages without losing or repeating a record, splitting SCAN batches", async () => {
    const namespace = `ns-${randomUUID()}`;
    const paged = async (
      scan: RedisStore,
      options: { scope?: string; limit: number },
    ) => {
      const keys: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await scan.list({ namespace, ...options, cursor });
        expect(page.records.length).toBeLessThanOrEqual(options.limit);
        keys.push(...page.records.map((r) => r.key));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined && pages < 10_000);
      return keys.sort();
    };
    const wide = new RedisStore({ client: client.client, prefix, scanCount: 1_000 });
    const narrow = new RedisStore({ client: client.client, prefix, scanCount: 3 });
    for (let i = 0; i < 25; i++) {
      await store.claim(claimOf({ namespace, scope: `s${i % 3}`, key: `k${i}` }));
    }

    const all = Array.from({ length: 25 }, (_, i) => `k${i}`).sort();

    expect(await paged(wide, { limit: 7 })).toEqual(all);
    expect(await paged(narrow, { limit: 7 })).toEqual(all);
    expect(await paged(wide, { scope: "s1", limit: 3 })).toHaveLength(8);
    await expect(store.list({ cursor: "garbage" })).rejects.toMatchObject({
      code: "IDEMKIT_STORE",
    });
  });

  it("decides every claim as the reference state machine does", async () => {
    type Step =
      | { op: "claim"; fingerprint: "a" | "b" }
      | { op: "complete" | "extend" | "saveStep"; stale: boolean }
      | { op: "fail"; stale: boolean; final: boolean };
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.record({
        op: fc.constant("claim" as const),
        fingerprint: fc.constantFrom("a", "b"),
      }),
      fc.record({
        op: fc.constantFrom("complete" as const, "extend" as const, "saveStep" as const),
        stale: fc.boolean(),
      }),
      fc.record({
        op: fc.constant("fail" as const),
        stale: fc.boolean(),
        final: fc.boolean(),
      }),
    );

    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (plan) => {
        const reference = new MemoryStore({ sweepInterval: 0 });
        const id = newId();
        const trace = async (s: IdempotencyStore) => {
          const out: unknown[] = [];
          let token = 0;
          let n = 0;
          for (const st of plan) {
            if (st.op === "claim") {
              const o = await s.claim({ ...claimOf(id), fingerprint: st.fingerprint });
              if (o.kind === "acquired") token = o.record.token;
              const r = o.record;
              // Replays and mismatches leave the steps out (nobody reads them).
              const steps = o.kind === "replay" || o.kind === "mismatch" ? {} : r.steps;
              out.push([o.kind, r.status, r.attempts, r.result, r.error, steps]);
              continue;
            }
            const t = st.stale ? token - 1 : token;
            if (st.op === "complete")
              out.push(await s.complete(id, t, { result: `v${n++}`, ttlMs: 60_000 }));
            else if (st.op === "extend") out.push(await s.extend(id, t, 5_000));
            else if (st.op === "saveStep")
              out.push(await s.saveStep(id, t, `s${n++}`, "x"));
            else if (st.op === "fail")
              out.push(
                await s.fail(id, t, {
                  error: { name: "E", message: "m", code: "C", final: st.final },
                  ttlMs: 60_000,
                }),
              );
          }
          return out;
        };

        expect(await trace(store)).toEqual(await trace(reference));
        await reference.close();
      }),
      { numRuns: 60 },
    );
  });
});
