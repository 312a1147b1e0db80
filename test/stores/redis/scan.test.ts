/**
 * `list` paging against a fake Redis whose `SCAN` answers the same cursor
 * with the same keys in another order each time, as a rehashing keyspace
 * may: a page boundary inside a batch must neither lose nor repeat a record.
 */
import { describe, expect, it } from "vitest";
import { recordKey } from "../../../src/stores/redis/key-layout.js";
import { RedisStore } from "../../../src/stores/redis/redis-store.js";

describe("RedisStore list paging", () => {
  it("hands out every record once when SCAN reorders a batch it is asked for again", async () => {
    const prefix = "scan-test:";
    const keys = Array.from({ length: 12 }, (_, i) =>
      recordKey(prefix, { namespace: "n", scope: "", key: `k${i}` }),
    );
    let scans = 0;
    const client = {
      sendCommand: async (args: string[]): Promise<unknown> => {
        if (args[0] === "SCAN") {
          // One batch holds every key; each call rotates its order.
          scans++;
          const shift = scans % keys.length;
          return ["0", [...keys.slice(shift), ...keys.slice(0, shift)]];
        }
        if (args[0] === "HGETALL") {
          return ["m", "in_progress 1 1 0 1 9999999999999 0 0", "fp", ""];
        }
        throw new Error(`unexpected ${args[0]}`);
      },
    };
    const store = new RedisStore({ client, prefix });

    const listed: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list({ limit: 5, cursor });
      listed.push(...page.records.map((record) => record.key));
      cursor = page.cursor;
      pages++;
    } while (cursor !== undefined && pages < 20);

    expect(listed.sort()).toEqual(Array.from({ length: 12 }, (_, i) => `k${i}`).sort());
  });
});
