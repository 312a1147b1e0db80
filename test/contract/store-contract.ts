/**
 * The store contract suite: the same assertions for every store. A store
 * file calls `describeStoreContract` with a factory; each test works in a
 * namespace of its own, so stores on shared servers need no cleanup between
 * tests.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IdempotencyStoreError } from "../../src/core/errors.js";
import type { RecordId, StoredError } from "../../src/core/record.js";
import type { ClaimRequest, IdempotencyStore } from "../../src/stores/contract.js";

export interface ContractFixture {
  readonly store: IdempotencyStore;
  /** Closes the store and removes what the fixture made. */
  readonly teardown?: () => Promise<void>;
}

export interface ContractOptions {
  /** When set, the suite is skipped and this reason is reported loudly. */
  readonly skip?: string | undefined;
  /**
   * True when expired records vanish by themselves (Redis `PX`), so `get`
   * returns nothing instead of status `expired`.
   */
  readonly nativeExpiry?: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function describeStoreContract(
  name: string,
  setup: () => Promise<ContractFixture>,
  options: ContractOptions = {},
): void {
  describe.skipIf(options.skip !== undefined)(`store contract: ${name}`, () => {
    let store: IdempotencyStore;
    let fixture: ContractFixture;

    beforeAll(async () => {
      fixture = await setup();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.teardown?.();
    });

    const newId = (key = "key-1", scope = ""): RecordId => ({
      namespace: `ns-${randomUUID()}`,
      scope,
      key,
    });
    const claimOf = (id: RecordId, extra: Partial<ClaimRequest> = {}): ClaimRequest => ({
      id,
      fingerprint: "fp-a",
      leaseMs: 5_000,
      ttlMs: 60_000,
      ...extra,
    });
    const retryable: StoredError = {
      name: "TypeError",
      message: "boom",
      code: "E_BOOM",
      final: false,
    };

    describe("claim", () => {
      it("acquires a key nobody holds, as attempt 1", async () => {
        const id = newId();

        const outcome = await store.claim(claimOf(id));

        expect(outcome.kind).toBe("acquired");
        if (outcome.kind !== "acquired") return;
        expect(outcome.takenOver).toBe(false);
        expect(outcome.record).toMatchObject({
          ...id,
          status: "in_progress",
          attempts: 1,
          fingerprint: "fp-a",
        });
        expect(outcome.record.token).toBeGreaterThan(0);
        expect(outcome.record.leaseUntil).toBeGreaterThan(Date.now() - 1_000);
        expect(outcome.record.steps).toEqual({});
      });

      it("reports busy while the owner's lease is live", async () => {
        const id = newId();
        await store.claim(claimOf(id));

        const second = await store.claim(claimOf(id));

        expect(second.kind).toBe("busy");
        expect(second.record.attempts).toBe(1);
      });

      it("reports a mismatch for a different fingerprint while in progress", async () => {
        const id = newId();
        await store.claim(claimOf(id));

        const other = await store.claim(claimOf(id, { fingerprint: "fp-b" }));

        expect(other.kind).toBe("mismatch");
      });

      it("reports a mismatch for a different fingerprint once completed", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.complete(id, first.record.token, { result: "v1", ttlMs: 60_000 });

        const other = await store.claim(claimOf(id, { fingerprint: "fp-b" }));

        expect(other.kind).toBe("mismatch");
      });

      it("lets exactly one of 50 concurrent claims acquire", async () => {
        const id = newId();

        const outcomes = await Promise.all(
          Array.from({ length: 50 }, () => store.claim(claimOf(id))),
        );

        const kinds = outcomes.map((o) => o.kind);
        expect(kinds.filter((k) => k === "acquired")).toHaveLength(1);
        expect(kinds.filter((k) => k === "busy")).toHaveLength(49);
      });

      it("keeps keys apart across scopes and namespaces", async () => {
        const a = newId("shared-key", "tenant:a");
        const b = { ...a, scope: "tenant:b" };
        const c = { ...a, namespace: `${a.namespace}-other` };

        const outcomes = await Promise.all(
          [a, b, c].map((id) => store.claim(claimOf(id))),
        );

        expect(outcomes.map((o) => o.kind)).toEqual(["acquired", "acquired", "acquired"]);
      });

      it("keeps apart ids whose parts would run together when joined", async () => {
        const base = newId();
        const ids: RecordId[] = [
          { namespace: base.namespace, scope: "a:b", key: "c" },
          { namespace: base.namespace, scope: "a", key: "b:c" },
          { namespace: `${base.namespace}:a`, scope: "b", key: "c" },
          { namespace: base.namespace, scope: "{a}", key: "c d" },
          { namespace: base.namespace, scope: "ünï\u0000cødé", key: "c" },
          { namespace: base.namespace, scope: "", key: "a:b:c" },
        ];

        const outcomes = await Promise.all(ids.map((id) => store.claim(claimOf(id))));

        expect(outcomes.map((o) => o.kind)).toEqual(ids.map(() => "acquired"));
        for (const id of ids) expect(await store.get(id)).toMatchObject(id);
      });
    });

    describe("complete", () => {
      it("stores the result for replay", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));

        const stored = await store.complete(id, first.record.token, {
          result: 'v{"ok":true}',
          ttlMs: 60_000,
        });
        const replay = await store.claim(claimOf(id));

        expect(stored).toBe(true);
        expect(replay.kind).toBe("replay");
        expect(replay.record).toMatchObject({
          status: "completed",
          result: 'v{"ok":true}',
          fingerprint: "fp-a",
        });
        expect(replay.record.completedAt).toBeGreaterThan(0);
      });

      it("keeps unicode and large results intact", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        const result = `v${"€ß漢🙂".repeat(10_000)}\u0000end`;

        await store.complete(id, first.record.token, { result, ttlMs: 60_000 });

        expect((await store.get(id))?.result).toBe(result);
      });

      it("refuses a stale token and changes nothing", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));

        const stored = await store.complete(id, first.record.token + 1, {
          result: "vX",
          ttlMs: 60_000,
        });

        expect(stored).toBe(false);
        expect(await store.get(id)).toMatchObject({
          status: "in_progress",
          token: first.record.token,
        });
      });

      it("refuses a second completion", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.complete(id, first.record.token, { result: "v1", ttlMs: 60_000 });

        const again = await store.complete(id, first.record.token, {
          result: "v2",
          ttlMs: 60_000,
        });

        expect(again).toBe(false);
        expect((await store.get(id))?.result).toBe("v1");
      });

      it("refuses a key nobody claimed", async () => {
        expect(await store.complete(newId(), 1, { result: "v1", ttlMs: 60_000 })).toBe(
          false,
        );
      });
    });

    describe("fail", () => {
      it("lets a retryable failure be claimed again with a higher token", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.fail(id, first.record.token, { error: retryable, ttlMs: 60_000 });

        const again = await store.claim(claimOf(id));

        expect(again.kind).toBe("acquired");
        if (again.kind !== "acquired") return;
        expect(again.takenOver).toBe(false);
        expect(again.record.attempts).toBe(2);
        expect(again.record.token).toBeGreaterThan(first.record.token);
        expect(again.record.error).toBeUndefined();
      });

      it("replays a final failure with its name, message and code", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        const final: StoredError = {
          name: "FundsError",
          message: "insufficient funds",
          code: "E_FUNDS",
          final: true,
        };
        await store.fail(id, first.record.token, { error: final, ttlMs: 60_000 });

        const replay = await store.claim(claimOf(id));

        expect(replay.kind).toBe("replay");
        expect(replay.record.status).toBe("failed");
        expect(replay.record.error).toEqual(final);
      });

      it("keeps a stored error without a code", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.fail(id, first.record.token, {
          error: { name: "Error", message: "no code", final: true },
          ttlMs: 60_000,
        });

        const record = await store.get(id);

        expect(record?.error?.message).toBe("no code");
        expect(record?.error?.code ?? undefined).toBeUndefined();
      });

      it("refuses a stale token", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));

        expect(
          await store.fail(id, first.record.token - 1, {
            error: retryable,
            ttlMs: 60_000,
          }),
        ).toBe(false);
        expect((await store.get(id))?.status).toBe("in_progress");
      });
    });

    describe("leases", () => {
      it("lets the next caller take over an expired lease, fencing out the old owner", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id, { leaseMs: 60 }));
        await sleep(120);

        const second = await store.claim(claimOf(id, { leaseMs: 5_000 }));

        expect(second.kind).toBe("acquired");
        if (second.kind !== "acquired") return;
        expect(second.takenOver).toBe(true);
        expect(second.record.attempts).toBe(2);
        expect(second.record.token).toBeGreaterThan(first.record.token);
        expect(
          await store.complete(id, first.record.token, {
            result: "vstale",
            ttlMs: 60_000,
          }),
        ).toBe(false);
        expect(await store.extend(id, first.record.token, 5_000)).toBe(false);
        expect(
          await store.complete(id, second.record.token, {
            result: "vfresh",
            ttlMs: 60_000,
          }),
        ).toBe(true);
        expect((await store.get(id))?.result).toBe("vfresh");
      });

      it("extends a lease for its owner only", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id, { leaseMs: 150 }));

        expect(await store.extend(id, first.record.token + 1, 5_000)).toBe(false);
        for (let i = 0; i < 4; i++) {
          await sleep(60);
          expect(await store.extend(id, first.record.token, 150)).toBe(true);
        }
        const probe = await store.claim(claimOf(id));

        expect(probe.kind).toBe("busy");
      });

      it("keeps an in-progress record with a live lease past its ttl", async () => {
        const id = newId();
        await store.claim(claimOf(id, { leaseMs: 2_000, ttlMs: 40 }));
        await sleep(100);

        const probe = await store.claim(claimOf(id));

        expect(probe.kind).toBe("busy");
      });
    });

    describe("steps", () => {
      it("records steps for the owner and hands them to the next owner", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id, { leaseMs: 60 }));
        expect(
          await store.saveStep(id, first.record.token, "charge", '{"id":"ch_1"}'),
        ).toBe(true);
        expect(
          await store.saveStep(id, first.record.token, 'a "quoted" name.$[0]', "2"),
        ).toBe(true);
        await sleep(120);

        const second = await store.claim(claimOf(id));

        expect(second.kind).toBe("acquired");
        expect(second.record.steps).toEqual({
          charge: '{"id":"ch_1"}',
          'a "quoted" name.$[0]': "2",
        });
        expect(await store.saveStep(id, first.record.token, "late", "1")).toBe(false);
      });

      it("keeps steps across a retryable failure", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.saveStep(id, first.record.token, "charge", "1");
        await store.fail(id, first.record.token, { error: retryable, ttlMs: 60_000 });

        const second = await store.claim(claimOf(id));

        expect(second.record.steps).toEqual({ charge: "1" });
      });
    });

    describe("expiry", () => {
      it("runs a key again once its record expired, with a higher token", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id, { ttlMs: 50, leaseMs: 40 }));
        await store.complete(id, first.record.token, { result: "v1", ttlMs: 50 });
        await sleep(120);

        const again = await store.claim(claimOf(id, { fingerprint: "fp-other" }));

        expect(again.kind).toBe("acquired");
        expect(again.record.attempts).toBe(1);
        expect(again.record.token).toBeGreaterThan(first.record.token);
        expect(again.record.fingerprint).toBe("fp-other");
      });

      it("reports an expired record as expired or absent, and sweeps it", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id, { ttlMs: 50, leaseMs: 40 }));
        await store.complete(id, first.record.token, { result: "v1", ttlMs: 50 });
        await sleep(120);

        const before = await store.get(id);
        const swept = await store.sweep();
        const after = await store.get(id);

        if (options.nativeExpiry) expect(before).toBeUndefined();
        else {
          expect(before?.status).toBe("expired");
          expect(swept).toBeGreaterThanOrEqual(1);
        }
        expect(after).toBeUndefined();
      });
    });

    describe("get, delete, list, stats", () => {
      it("gets nothing for an unknown key", async () => {
        expect(await store.get(newId())).toBeUndefined();
      });

      it("deletes a record so the key runs again", async () => {
        const id = newId();
        const first = await store.claim(claimOf(id));
        await store.complete(id, first.record.token, { result: "v1", ttlMs: 60_000 });

        expect(await store.delete(id)).toBe(true);
        expect(await store.get(id)).toBeUndefined();
        expect((await store.claim(claimOf(id))).kind).toBe("acquired");
        expect(await store.delete(newId())).toBe(false);
      });

      it("lists records with filters, page by page", async () => {
        const namespace = `ns-${randomUUID()}`;
        for (let i = 0; i < 7; i++) {
          const id = { namespace, scope: i % 2 === 0 ? "even" : "odd", key: `k${i}` };
          const claimed = await store.claim(claimOf(id));
          if (i < 3)
            await store.complete(id, claimed.record.token, {
              result: `v${i}`,
              ttlMs: 60_000,
            });
        }

        const keys: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list({ namespace, limit: 3, cursor });
          keys.push(...page.records.map((r) => r.key));
          cursor = page.cursor;
          pages++;
        } while (cursor !== undefined && pages < 20);
        const even = await store.list({ namespace, scope: "even", limit: 100 });
        const done = await store.list({ namespace, status: "completed", limit: 100 });

        expect(keys.sort()).toEqual(["k0", "k1", "k2", "k3", "k4", "k5", "k6"]);
        expect(even.records.map((r) => r.key).sort()).toEqual(["k0", "k2", "k4", "k6"]);
        expect(done.records.map((r) => r.key).sort()).toEqual(["k0", "k1", "k2"]);
      });

      it("counts records per status", async () => {
        const before = await store.stats();
        const a = newId();
        const b = newId();
        const c = newId();
        const ca = await store.claim(claimOf(a));
        const cb = await store.claim(claimOf(b));
        await store.claim(claimOf(c));
        await store.complete(a, ca.record.token, { result: "v", ttlMs: 60_000 });
        await store.fail(b, cb.record.token, { error: retryable, ttlMs: 60_000 });

        const after = await store.stats();

        expect(after.total - before.total).toBe(3);
        expect(after.completed - before.completed).toBe(1);
        expect(after.failed - before.failed).toBe(1);
        expect(after.inProgress - before.inProgress).toBe(1);
      });

      // Stores with native expiry drop such a record instead (see "expiry").
      if (options.nativeExpiry !== true) {
        it("counts a record past its retention as expired until it is swept", async () => {
          const before = await store.stats();
          const id = newId();
          const claimed = await store.claim(claimOf(id, { ttlMs: 50, leaseMs: 40 }));
          await store.complete(id, claimed.record.token, { result: "v", ttlMs: 50 });
          await sleep(120);

          const after = await store.stats();
          await store.sweep();
          const swept = await store.stats();

          expect(after.expired - before.expired).toBe(1);
          expect(after.completed - before.completed).toBe(0);
          expect(swept.expired).toBe(0);
        });
      }
    });

    describe("close", () => {
      it("refuses every call after close with IdempotencyStoreError, and closes twice quietly", async () => {
        const own = await setup();
        const id = newId();
        const claimed = await own.store.claim(claimOf(id));
        await own.store.close();

        const calls: Array<[string, () => Promise<unknown>]> = [
          ["claim", () => own.store.claim(claimOf(newId()))],
          [
            "complete",
            () => own.store.complete(id, claimed.record.token, { result: "v", ttlMs: 1 }),
          ],
          [
            "fail",
            () =>
              own.store.fail(id, claimed.record.token, { error: retryable, ttlMs: 1 }),
          ],
          ["extend", () => own.store.extend(id, claimed.record.token, 1_000)],
          ["saveStep", () => own.store.saveStep(id, claimed.record.token, "s", "1")],
          ["get", () => own.store.get(id)],
          ["delete", () => own.store.delete(id)],
          ["list", () => own.store.list({})],
          ["stats", () => own.store.stats()],
        ];
        for (const [name, call] of calls) {
          const error = await Promise.resolve()
            .then(call)
            .then(
              () => undefined,
              (err: unknown) => err,
            );
          expect(error, name).toBeInstanceOf(IdempotencyStoreError);
        }
        await expect(own.store.close()).resolves.toBeUndefined();
        await own.teardown?.();
      });
    });
  });
}
