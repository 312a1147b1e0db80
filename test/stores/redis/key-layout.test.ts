import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordId } from "../../../src/core/record.js";
import { RedisStore } from "../../../src/stores/redis/index.js";
import {
  decodePart,
  encodePart,
  idOfKey,
  recordKey,
  scanPattern,
} from "../../../src/stores/redis/key-layout.js";
import { redisForTests } from "../../support/redis.js";
import {
  dropPrefix,
  freshPrefix,
  keysUnder,
  openClient,
  type TestClient,
} from "./fixtures.js";

// Strings made mostly of the characters that could break a key layout.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom(":", "{", "}", " ", "%", "*", "?", "[", "]", "\\", "%3A", "%u"),
    fc.constantFrom("a", "é", "漢", "🙂", "\u0000", "\uD800", "\uDC00"),
    fc.string({ unit: "binary", maxLength: 1 }),
  ),
  maxLength: 12,
});
const ids = fc.record({ namespace: tricky, scope: tricky, key: tricky });
const prefixes = fc.constantFrom("idemkit:", "app{1}:", "a*b?[c]\\", "");

/**
 * Redis glob matching for `*`, `?` and `\` escapes; an unescaped `[` fails
 * the test, since `scanPattern` must never leave one.
 */
const SPECIAL = /[.*+?^${}()|[\]\\/]/g;

function globMatches(pattern: string, text: string): boolean {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i] as string;
    if (char === "\\") source += (pattern[++i] ?? "").replace(SPECIAL, "\\$&");
    else if (char === "*") source += "[\\s\\S]*";
    else if (char === "?") source += "[\\s\\S]";
    else if (char === "[") throw new Error(`unescaped [ in ${pattern}`);
    else source += char.replace(SPECIAL, "\\$&");
  }
  return new RegExp(`^${source}$`).test(text);
}

describe("Redis key layout", () => {
  it("gives different ids different keys, all under the prefix", () => {
    fc.assert(
      fc.property(prefixes, ids, ids, (prefix, a, b) => {
        const keyA = recordKey(prefix, a);
        const keyB = recordKey(prefix, b);

        const same =
          a.namespace === b.namespace && a.scope === b.scope && a.key === b.key;
        expect(keyA === keyB).toBe(same);
        expect(keyA.startsWith(prefix)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });

  it("reads every id back from its key", () => {
    fc.assert(
      fc.property(prefixes, ids, (prefix, id) => {
        expect(idOfKey(prefix, recordKey(prefix, id))).toEqual(id);
      }),
      { numRuns: 2_000 },
    );
  });

  it("puts no braces, glob characters or separators inside an encoded part", () => {
    fc.assert(
      fc.property(tricky, (part) => {
        const encoded = encodePart(part);

        expect(encoded).toMatch(/^[A-Za-z0-9._~%-]*$/);
        expect(decodePart(encoded)).toBe(part);
      }),
      { numRuns: 2_000 },
    );
  });

  it("builds scan patterns that match exactly the namespace and scope asked for", () => {
    fc.assert(
      fc.property(prefixes, ids, ids, (prefix, a, b) => {
        const pattern = scanPattern(prefix, a.namespace, a.scope);

        expect(globMatches(pattern, recordKey(prefix, a))).toBe(true);
        const sameScope = a.namespace === b.namespace && a.scope === b.scope;
        expect(globMatches(pattern, recordKey(prefix, b))).toBe(sameScope);
        expect(globMatches(scanPattern(prefix), recordKey(prefix, b))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });
});

const redis = await redisForTests("Redis key layout against a server");

describe.skipIf(redis.skip !== undefined)("Redis key layout against a server", () => {
  let client: TestClient;
  let store: RedisStore;
  const prefix = freshPrefix("layout");

  beforeAll(async () => {
    client = await openClient("ioredis", redis.url as string);
    store = new RedisStore({ client: client.client, prefix });
  });

  afterAll(async () => {
    await dropPrefix(client, prefix);
    await client.close();
  });

  it("stores tricky ids as separate records that list back unchanged", async () => {
    const generated = fc.sample(ids, { numRuns: 150, seed: 42 });
    const unique = new Map<string, RecordId>(
      generated.map((id) => [JSON.stringify(id), id] as const),
    );
    const all = [...unique.values()];

    const outcomes = await Promise.all(
      all.map((id) =>
        store.claim({ id, fingerprint: "", leaseMs: 5_000, ttlMs: 60_000 }),
      ),
    );
    const listed: RecordId[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 40, cursor });
      listed.push(
        ...page.records.map(({ namespace, scope, key }) => ({ namespace, scope, key })),
      );
      cursor = page.cursor;
    } while (cursor !== undefined);
    const ours = await keysUnder(client, prefix);

    expect(outcomes.every((o) => o.kind === "acquired")).toBe(true);
    const sortKey = (id: RecordId) => JSON.stringify([id.namespace, id.scope, id.key]);
    expect(listed.map(sortKey).sort()).toEqual(all.map(sortKey).sort());
    expect(ours).toHaveLength(all.length);
  });

  it("lists only its own records when the prefix holds glob characters", async () => {
    const globby = new RedisStore({ client: client.client, prefix: `${prefix}a*[b]?:` });
    const sibling = new RedisStore({ client: client.client, prefix: `${prefix}aX[b]Y:` });
    const request = (key: string) => ({
      id: { namespace: "n", scope: "", key },
      fingerprint: "",
      leaseMs: 5_000,
      ttlMs: 60_000,
    });
    await globby.claim(request("mine"));
    await sibling.claim(request("theirs"));

    const page = await globby.list({ limit: 100 });

    expect(page.records.map((r) => r.key)).toEqual(["mine"]);
  });
});
