import diagnostics from "node:diagnostics_channel";
import { describe, expect, it } from "vitest";
import {
  getIdempotencyContext,
  Idempotency,
  type IdempotencyContext,
  type IdempotencyEvent,
  IdempotencyStepError,
  Idempotent,
  idempotent,
  MemoryStore,
  step,
} from "../../src/index.js";
import { anotherProcessView, gate, sleep } from "../support/delegating-store.js";

describe("ctx.step()", () => {
  it("skips finished steps after a take-over and runs the first unfinished one", async () => {
    const store = new MemoryStore();
    const calls: string[] = [];
    const crash = gate();
    const record = (name: string, value: string) => {
      calls.push(name);
      return value;
    };
    const operation = (stopAfterTwo: boolean) => async (ctx: IdempotencyContext) => {
      const a = await ctx.step("reserve", () => record("reserve", "r1"));
      const b = await ctx.step("charge", () => record("charge", "c1"));
      if (stopAfterTwo) await crash.promise; // the process "dies" here
      const c = await ctx.step("receipt", () => record("receipt", "m1"));
      return [a, b, c];
    };
    const dying = new Idempotency({ store, lease: 60, heartbeat: false });
    const survivor = new Idempotency({ store: anotherProcessView(store) });

    void dying.run("order-1", operation(true));
    await sleep(120);
    const result = await survivor.run("order-1", operation(false));

    expect(result).toEqual(["r1", "c1", "m1"]);
    expect(calls).toEqual(["reserve", "charge", "receipt"]);
  });

  it("keeps finished steps across a retryable failure", async () => {
    const store = new MemoryStore();
    let charges = 0;
    let failNext = true;
    const op = idempotent(
      async () => {
        const charge = await step("charge", () => ++charges);
        if (failNext) {
          failNext = false;
          throw new Error("mailer down");
        }
        return charge;
      },
      { store, key: "k" },
    );

    await expect(op()).rejects.toThrow("mailer down");
    await expect(op()).resolves.toBe(1);
    expect(charges).toBe(1);
  });

  it("rejects a step name used twice in one operation", async () => {
    const store = new MemoryStore();
    const idem = new Idempotency({ store });

    const error = await idem
      .run("k", async (ctx) => {
        await ctx.step("charge", () => 1);
        await ctx.step("charge", () => 2);
      })
      .catch((err: unknown) => err);

    expect(error).toBeInstanceOf(IdempotencyStepError);
    expect((error as Error).message).toMatch(/"charge" was already used/);
  });

  it("does not let a stale owner record a step", async () => {
    const store = new MemoryStore();
    const stuck = gate();
    const stale = new Idempotency({ store, lease: 50, heartbeat: false });
    const fresh = new Idempotency({ store: anotherProcessView(store) });

    const staleRun = stale.run("k", async (ctx) => {
      await stuck.promise;
      return ctx.step("late", () => "late");
    });
    await sleep(100);
    await fresh.run("k", async () => "fresh");
    stuck.open();

    await expect(staleRun).rejects.toMatchObject({ code: "IDEMKIT_LEASE_LOST" });
    expect(
      (await store.get({ namespace: "default", scope: "", key: "k" }))?.steps,
    ).toEqual({});
  });

  it("throws IdempotencyStepError outside an operation", async () => {
    await expect(step("x", () => 1)).rejects.toBeInstanceOf(IdempotencyStepError);
  });
});

describe("context", () => {
  it("is readable inside a wrapped function, with the attempt number", async () => {
    const store = new MemoryStore();
    const seen: Array<number | undefined> = [];
    const op = idempotent(
      async () => {
        seen.push(getIdempotencyContext()?.attempt);
        if (seen.length === 1) throw new Error("retry me");
        return "ok";
      },
      { store, key: "k" },
    );

    await op().catch(() => undefined);
    await op();

    expect(seen).toEqual([1, 2]);
    expect(getIdempotencyContext()).toBeUndefined();
  });
});

describe("asyncContext: false", () => {
  it("still hands ctx to run(), but not to the accessor", async () => {
    const idem = new Idempotency({ store: new MemoryStore(), asyncContext: false });
    let seen: unknown = "unset";

    const attempt = await idem.run("k", async (ctx) => {
      seen = getIdempotencyContext();
      return ctx.step("one", () => ctx.attempt);
    });

    expect(attempt).toBe(1);
    expect(seen).toBeUndefined();
  });
});

describe("events", () => {
  it("reports each transition to onEvent and to diagnostics_channel", async () => {
    const store = new MemoryStore();
    const hooked: IdempotencyEvent[] = [];
    const channelled: string[] = [];
    const listener = (message: unknown) =>
      channelled.push((message as IdempotencyEvent).type);
    diagnostics.subscribe("idemkit:acquired", listener);
    diagnostics.subscribe("idemkit:replayed", listener);
    const op = idempotent(async (n: number) => n, {
      store,
      key: "k",
      onEvent: (e) => hooked.push(e),
    });

    await op(1);
    await op(1);
    await op(2).catch(() => undefined);
    diagnostics.unsubscribe("idemkit:acquired", listener);
    diagnostics.unsubscribe("idemkit:replayed", listener);

    expect(hooked.map((e) => e.type)).toEqual([
      "acquired",
      "completed",
      "replayed",
      "mismatch",
    ]);
    expect(hooked[0]).toMatchObject({ store: "memory", attempt: 1, id: { key: "k" } });
    expect(channelled).toEqual(["acquired", "replayed"]);
  });

  it("ignores an onEvent hook that throws", async () => {
    const store = new MemoryStore();
    const op = idempotent(async () => "ok", {
      store,
      key: "k",
      onEvent: () => {
        throw new Error("observer bug");
      },
    });

    await expect(op()).resolves.toBe("ok");
  });
});

describe("@Idempotent", () => {
  it("makes a method idempotent with a custom key and keeps `this`", async () => {
    const store = new MemoryStore();
    class Orders {
      created = 0;

      @Idempotent({
        store,
        key: (input: { requestId: string; sku: string }) => input.requestId,
      })
      async create(input: { requestId: string; sku: string }) {
        this.created++;
        return { orderId: `o-${this.created}`, sku: input.sku };
      }
    }
    const orders = new Orders();

    const results = await Promise.all([
      orders.create({ requestId: "r1", sku: "A" }),
      orders.create({ requestId: "r1", sku: "A" }),
    ]);
    const later = await orders.create({ requestId: "r1", sku: "A" });

    expect(orders.created).toBe(1);
    expect(results[1]).toEqual(results[0]);
    expect(later).toEqual({ orderId: "o-1", sku: "A" });
    expect((await store.list()).records[0]?.namespace).toBe("create");
  });

  it("shares an engine passed as `idempotency`", async () => {
    const idem = new Idempotency({ store: new MemoryStore() });
    let runs = 0;
    class Mailer {
      @Idempotent({ idempotency: idem, name: "send" })
      async send(to: string) {
        runs++;
        return to;
      }
    }

    await new Mailer().send("a@example.com");
    await new Mailer().send("a@example.com");

    expect(runs).toBe(1);
  });
});
