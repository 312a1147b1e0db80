import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  canonicalize,
  deriveKey,
  Idempotency,
  IdempotencyConfigError,
  IdempotencyKeyInvalidError,
  idempotent,
  MemoryStore,
  parseDuration,
} from "../../src/index.js";

describe("canonicalize", () => {
  it("is independent of object key order", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (dict) => {
        const reversed = Object.fromEntries(Object.entries(dict).reverse());
        expect(canonicalize(reversed)).toBe(canonicalize(dict));
      }),
      { numRuns: 300 },
    );
  });

  it("tells types apart that JSON would merge", () => {
    const values = [
      1,
      "1",
      1n,
      new Date(1),
      [1],
      { 1: 1 },
      null,
      undefined,
      "null",
      new Set([1]),
      new Map([[1, 1]]),
    ];

    expect(new Set(values.map(canonicalize)).size).toBe(values.length);
  });

  it("orders Map entries and Set items canonically", () => {
    expect(
      canonicalize(
        new Map([
          ["b", 1],
          ["a", 2],
        ]),
      ),
    ).toBe(
      canonicalize(
        new Map([
          ["a", 2],
          ["b", 1],
        ]),
      ),
    );
    expect(canonicalize(new Set([2, 1]))).toBe(canonicalize(new Set([1, 2])));
  });

  it("derives different keys for different names and scopes", () => {
    const keys = [
      deriveKey("a", [1]),
      deriveKey("b", [1]),
      deriveKey("a", [1], "s"),
      deriveKey("a", [2]),
    ];

    expect(new Set(keys).size).toBe(4);
    expect(keys[0]).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("bad input", () => {
  const store = new MemoryStore();
  const idem = new Idempotency({ store });
  const op = async () => 1;

  it.each([
    ["an empty key", "", /must not be empty/],
    ["a 256-character key", "k".repeat(256), /at most 255 characters, got 256/],
    ["a key with a newline", "a\nb", /printable ASCII/],
    ["a key with non-ASCII", "clé", /printable ASCII/],
    ["a non-string key", 42 as unknown as string, /must be a string, got number/],
  ])("rejects %s with IdempotencyKeyInvalidError", async (_label, key, message) => {
    const error = await idem.run(key, op).catch((err: unknown) => err);

    expect(error).toBeInstanceOf(IdempotencyKeyInvalidError);
    expect((error as Error).message).toMatch(message);
    expect(error).toMatchObject({ code: "IDEMKIT_KEY_INVALID", status: 400 });
  });

  it("accepts a 255-character key", async () => {
    await expect(idem.run("k".repeat(255), op)).resolves.toBe(1);
  });

  it("rejects a key function that returns a bad key, without running", async () => {
    let runs = 0;
    const wrapped = idempotent(async (_k: string) => ++runs, { store, key: (k) => k });

    await expect(wrapped("bad\tkey")).rejects.toBeInstanceOf(IdempotencyKeyInvalidError);
    expect(runs).toBe(0);
  });

  it("rejects a non-function operation", async () => {
    await expect(idem.run("k", "nope" as never)).rejects.toBeInstanceOf(
      IdempotencyConfigError,
    );
    expect(() => idempotent("nope" as never, { store })).toThrow(IdempotencyConfigError);
  });

  it.each([
    ["a negative ttl", { ttl: -1 }, /ttl must be a non-negative/],
    ["a malformed ttl", { ttl: "tomorrow" }, /ttl must look like/],
    ["a zero lease", { lease: 0 }, /lease must be at least 1 ms/],
    [
      "a heartbeat as long as the lease",
      { lease: "1s", heartbeat: "1s" },
      /shorter than the lease/,
    ],
    ["an unknown onBusy", { onBusy: "queue" }, /onBusy must be/],
  ])("rejects %s when the wrapper is made", (_label, options, message) => {
    expect(() => idempotent(op, { store, ...(options as object) })).toThrow(message);
    expect(() => idempotent(op, { store, ...(options as object) })).toThrow(
      IdempotencyConfigError,
    );
  });

  it("rejects missing options and a missing store", () => {
    expect(() => idempotent(op, undefined as never)).toThrow(/store/);
    expect(() => new Idempotency({} as never)).toThrow(/A store is required/);
  });
});

describe("parseDuration", () => {
  it.each([
    [1500, 1500],
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["24h", 86_400_000],
    ["7d", 604_800_000],
    ["1.5s", 1500],
    ["100", 100],
  ])("reads %s as %i ms", (input, expected) => {
    expect(parseDuration(input as never)).toBe(expected);
  });
});
