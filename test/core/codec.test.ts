import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  defaultCodec,
  IdempotencyEncodeError,
  IdempotencyResultUnavailableError,
  idempotent,
  MemoryStore,
} from "../../src/index.js";

const roundTrip = (value: unknown) => defaultCodec.decode(defaultCodec.encode(value));

describe("defaultCodec", () => {
  it("round-trips every supported type", () => {
    const value = {
      text: "héllo",
      n: 1.5,
      big: 12345678901234567890n,
      nothing: undefined,
      none: null,
      yes: true,
      at: new Date("2026-01-02T03:04:05.678Z"),
      invalidDate: new Date(Number.NaN),
      map: new Map<unknown, unknown>([
        ["a", 1],
        [2, new Set(["x"])],
      ]),
      set: new Set([1, "two", 3n]),
      bytes: new Uint8Array([0, 1, 254, 255]),
      buffer: Buffer.from("buf"),
      special: [
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        undefined,
      ],
      nested: { $t: "looks like a tag", v: 1 },
      error: Object.assign(new RangeError("bad"), { code: "E_RANGE" }),
    };

    const back = roundTrip(value) as typeof value;

    expect(back.text).toBe("héllo");
    expect(back.big).toBe(12345678901234567890n);
    expect("nothing" in back && back.nothing === undefined).toBe(true);
    expect(back.at).toEqual(value.at);
    expect(Number.isNaN(back.invalidDate.getTime())).toBe(true);
    expect(back.map).toEqual(value.map);
    expect(back.set).toEqual(value.set);
    expect(back.bytes).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(back.bytes)).toBe(false);
    expect([...back.bytes]).toEqual([0, 1, 254, 255]);
    expect(Buffer.isBuffer(back.buffer)).toBe(true);
    expect(back.buffer.toString()).toBe("buf");
    expect(back.special).toEqual([
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      undefined,
    ]);
    expect(back.nested).toEqual({ $t: "looks like a tag", v: 1 });
    expect(back.error).toMatchObject({
      name: "RangeError",
      message: "bad",
      code: "E_RANGE",
    });
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip("plain")).toBe("plain");
  });

  it("round-trips arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(roundTrip(value)).toEqual(value);
      }),
      { numRuns: 500 },
    );
  });

  it("does not let a __proto__ key replace the prototype", () => {
    const back = defaultCodec.decode('{"__proto__":{"polluted":true}}') as Record<
      string,
      unknown
    >;

    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("names the path of a function", () => {
    const error = (() => {
      try {
        defaultCodec.encode({ items: [{ ok: 1 }, { ok: 2, callback: () => 1 }] });
      } catch (err) {
        return err;
      }
    })();

    expect(error).toBeInstanceOf(IdempotencyEncodeError);
    expect(error).toMatchObject({ path: "$.items[1].callback" });
    expect((error as Error).message).toContain("$.items[1].callback");
  });

  it("names the path of a circular reference", () => {
    const node: Record<string, unknown> = { name: "a" };
    node.self = { back: node };

    expect(() => defaultCodec.encode(node)).toThrow(
      /circular reference at \$\.self\.back/,
    );
  });
});

describe("results that cannot be stored", () => {
  it.each([
    ["a function", () => ({ fn: () => 1 }), /\$\.fn/],
    [
      "a circular structure",
      () => {
        const loop: Record<string, unknown> = {};
        loop.loop = loop;
        return loop;
      },
      /\$\.loop/,
    ],
  ])(
    "gives the first caller the value and duplicates a named error, never a second run (%s)",
    async (_label, make, path) => {
      const store = new MemoryStore();
      let runs = 0;
      const op = idempotent(
        async () => {
          runs++;
          return make();
        },
        { store, key: "k" },
      );

      const first = await op();
      const duplicate = await op().catch((err: unknown) => err);

      expect(first).toBeTypeOf("object");
      expect(runs).toBe(1);
      expect(duplicate).toBeInstanceOf(IdempotencyResultUnavailableError);
      expect((duplicate as Error).message).toMatch(path);
    },
  );

  it("treats a result over maxResultBytes the same way", async () => {
    const store = new MemoryStore();
    let runs = 0;
    const op = idempotent(async () => "x".repeat(++runs * 2_000), {
      store,
      key: "k",
      maxResultBytes: 1_000,
    });

    await op();
    const duplicate = await op().catch((err: unknown) => err);

    expect(runs).toBe(1);
    expect(duplicate).toBeInstanceOf(IdempotencyResultUnavailableError);
    expect((duplicate as Error).message).toMatch(/larger than 1000 bytes/);
  });
});
