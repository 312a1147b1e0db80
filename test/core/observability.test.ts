/**
 * What the engine tells the outside world (events, log lines, error codes)
 * and the wrapper options that change what it stores or compares: each is
 * checked through its visible effect, so dropping it fails a test.
 */
import { describe, expect, it } from "vitest";
import {
  type Codec,
  defaultCodec,
  ERROR_CODES,
  HTTP_STATUS_BY_CODE,
  Idempotency,
  IdempotencyConfigError,
  IdempotencyEncodeError,
  type IdempotencyEvent,
  IdempotencyInProgressError,
  IdempotencyKeyInvalidError,
  IdempotencyKeyMissingError,
  IdempotencyKeyReuseError,
  IdempotencyLeaseLostError,
  IdempotencyResultUnavailableError,
  IdempotencyStepError,
  IdempotencyStoreError,
  idempotent,
  type Logger,
  MemoryStore,
} from "../../src/index.js";
import type { IdempotencyStore } from "../../src/stores/contract.js";
import { anotherProcessView, gate, sleep } from "../support/delegating-store.js";

interface LogLine {
  level: keyof Logger;
  context: object;
  message: string;
}

function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: keyof Logger) =>
    (context: object, message: string): void => {
      lines.push({ level, context, message });
    };
  return {
    lines,
    logger: {
      debug: at("debug"),
      info: at("info"),
      warn: at("warn"),
      error: at("error"),
    },
  };
}

/** The store seen from another process, counting the claims it receives. */
function countingClaims(store: IdempotencyStore): {
  view: IdempotencyStore;
  claims: () => number;
} {
  const view = anotherProcessView(store);
  let claims = 0;
  const claim = view.claim;
  view.claim = (request) => {
    claims++;
    return claim(request);
  };
  return { view, claims: () => claims };
}

describe("single flight in one process", () => {
  it("sends one claim to the store for 200 concurrent duplicates", async () => {
    const { view, claims } = countingClaims(new MemoryStore());
    const idem = new Idempotency({ store: view });
    let runs = 0;

    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        idem.run("k", async () => {
          runs++;
          await sleep(20);
          return { id: "ch_1" };
        }),
      ),
    );

    expect(runs).toBe(1);
    expect(claims()).toBe(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(["ch_1"]));
  });
});

describe("events and log lines", () => {
  it("emits busy to the caller that finds the key held by another process", async () => {
    const store = new MemoryStore();
    const held = gate();
    const events: IdempotencyEvent[] = [];
    const owner = new Idempotency({ store });
    const other = new Idempotency({
      store: anotherProcessView(store),
      onBusy: "reject",
      onEvent: (event) => events.push(event),
    });

    const running = owner.run("k", () => held.promise);
    await sleep(5);
    const error = await other.run("k", async () => "x").catch((err: unknown) => err);
    held.open();
    await running;

    expect(error).toBeInstanceOf(IdempotencyInProgressError);
    expect(events.map((e) => e.type)).toEqual(["busy"]);
    expect(events[0]).toMatchObject({ store: "memory", id: { key: "k" }, attempt: 1 });
  });

  it("emits acquired and taken_over, and logs it, when a dead owner's key is taken", async () => {
    const store = new MemoryStore();
    const stuck = gate<string>();
    const dead = new Idempotency({ store, lease: 40, heartbeat: false });
    const { logger, lines } = recordingLogger();
    const events: IdempotencyEvent[] = [];
    const next = new Idempotency({
      store: anotherProcessView(store),
      logger,
      onEvent: (event) => events.push(event),
    });

    const stale = dead.run("k", () => stuck.promise);
    await sleep(80);
    await next.run("k", async () => "fresh");
    stuck.open("stale");
    await stale;

    expect(events.map((e) => e.type)).toEqual(["acquired", "taken_over", "completed"]);
    expect(events[1]).toMatchObject({ attempt: 2 });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "info",
        message: expect.stringMatching(/took over/),
      }),
    );
  });

  it("tells a stale owner through an event, a warning and its signal that its result was not kept", async () => {
    const store = new MemoryStore();
    const stuck = gate<string>();
    const { logger, lines } = recordingLogger();
    const events: IdempotencyEvent[] = [];
    const dead = new Idempotency({
      store,
      lease: 40,
      heartbeat: false,
      logger,
      onEvent: (event) => events.push(event),
    });
    const next = new Idempotency({ store: anotherProcessView(store) });

    let signal: AbortSignal | undefined;
    const stale = dead.run("k", (ctx) => {
      signal = ctx.signal;
      return stuck.promise;
    });
    await sleep(80);
    await next.run("k", async () => "fresh");
    stuck.open("stale");
    await stale;

    expect(events.map((e) => e.type)).toEqual(["acquired", "lease_lost"]);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: "IDEMKIT_LEASE_LOST" });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        message: expect.stringMatching(/after losing the lease/),
      }),
    );
  });

  it("warns when a result cannot be stored, and names the path", async () => {
    const { logger, lines } = recordingLogger();
    const idem = new Idempotency({ store: new MemoryStore(), logger });

    await idem.run("k", async () => ({ items: [{ callback: () => 1 }] }));

    const warning = lines.find((line) => line.level === "warn");
    expect(warning?.message).toMatch(/result not stored.*\$\.items\[0\]\.callback/);
  });

  it("logs an error when cacheError throws, and treats the failure as retryable", async () => {
    const { logger, lines } = recordingLogger();
    const idem = new Idempotency({
      store: new MemoryStore(),
      logger,
      cacheError: () => {
        throw new Error("hook broke");
      },
    });
    let runs = 0;
    const fail = () =>
      idem.run("k", async () => {
        runs++;
        throw new Error("declined");
      });

    await expect(fail()).rejects.toThrow("declined");
    await expect(fail()).rejects.toThrow("declined");

    expect(runs).toBe(2);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "error",
        message: expect.stringMatching(/cacheError threw/),
      }),
    );
  });
});

describe("wrapper options", () => {
  it("stores and replays results through the codec it is given", async () => {
    const encoded: unknown[] = [];
    const codec: Codec = {
      encode: (value) => {
        encoded.push(value);
        return defaultCodec.encode(value);
      },
      decode: (text) => ({ decoded: defaultCodec.decode(text) }),
    };
    const store = new MemoryStore();
    const charge = idempotent(async (amount: number) => ({ amount }), {
      store,
      name: "charge",
      key: "k",
      codec,
    });
    const replaying = idempotent(async (amount: number) => ({ amount }), {
      store: anotherProcessView(store),
      name: "charge",
      key: "k",
      codec,
    });

    const first = await charge(10);
    const replay = await replaying(10);

    expect(first).toEqual({ amount: 10 });
    expect(encoded).toEqual([{ amount: 10 }]);
    expect(replay).toEqual({ decoded: { amount: 10 } });
  });

  it("fingerprints only what the fingerprint function picks", async () => {
    let runs = 0;
    const charge = idempotent(
      async (input: { amount: number; traceId: string }) => {
        runs++;
        return input.amount;
      },
      {
        store: new MemoryStore(),
        key: "k",
        fingerprint: (input) => input.amount,
      },
    );

    expect(await charge({ amount: 10, traceId: "a" })).toBe(10);
    expect(await charge({ amount: 10, traceId: "b" })).toBe(10);
    await expect(charge({ amount: 11, traceId: "a" })).rejects.toBeInstanceOf(
      IdempotencyKeyReuseError,
    );
    expect(runs).toBe(1);
  });

  it("skips the reuse check with fingerprint: false", async () => {
    let runs = 0;
    const charge = idempotent(
      async (amount: number) => {
        runs++;
        return amount;
      },
      { store: new MemoryStore(), key: "k", fingerprint: false },
    );

    expect(await charge(10)).toBe(10);
    expect(await charge(99)).toBe(10);
    expect(runs).toBe(1);
  });

  it("writes its log lines to the logger it is given", async () => {
    const { logger, lines } = recordingLogger();
    const wrapped = idempotent(async () => Symbol("unstorable"), {
      store: new MemoryStore(),
      key: "k",
      logger,
    });

    await wrapped();

    expect(lines.map((line) => line.level)).toEqual(["warn"]);
  });
});

describe("error codes", () => {
  it("keeps every code stable and mapped to one HTTP status", () => {
    const errors = [
      [new IdempotencyKeyInvalidError("x"), "IDEMKIT_KEY_INVALID", 400],
      [new IdempotencyKeyMissingError("x"), "IDEMKIT_KEY_MISSING", 400],
      [new IdempotencyKeyReuseError("x"), "IDEMKIT_KEY_REUSE", 422],
      [new IdempotencyInProgressError("x", 100), "IDEMKIT_IN_PROGRESS", 409],
      [new IdempotencyResultUnavailableError("x"), "IDEMKIT_RESULT_UNAVAILABLE", 500],
      [new IdempotencyStoreError("x"), "IDEMKIT_STORE", 503],
      [new IdempotencyConfigError("x"), "IDEMKIT_CONFIG", 500],
      [new IdempotencyEncodeError("x", "$.a"), "IDEMKIT_ENCODE", 500],
      [new IdempotencyLeaseLostError("x"), "IDEMKIT_LEASE_LOST", 500],
      [new IdempotencyStepError("x"), "IDEMKIT_STEP", 500],
    ] as const;

    for (const [error, code, status] of errors) {
      expect(error.code).toBe(code);
      expect(error.name).toBe(error.constructor.name);
      expect(HTTP_STATUS_BY_CODE[error.code]).toBe(status);
    }
    expect(Object.values(ERROR_CODES).sort()).toEqual(
      ["IDEMKIT_ERROR", ...errors.map(([, code]) => code)].sort(),
    );
  });
});
