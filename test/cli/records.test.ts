import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordId } from "../../src/core/record.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { runCli } from "./run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-cli-records-"));
const path = join(dir, "records.db");
const store = `sqlite:${path}`;

const done = (key: string, scope = ""): RecordId => ({ namespace: "http", scope, key });

async function seed(): Promise<void> {
  const db = new SqliteStore({ path });
  const claim = (id: RecordId, ttlMs = 60_000) =>
    db.claim({ id, fingerprint: "f", leaseMs: 30_000, ttlMs });

  for (const id of [
    done("paid-1", "alice"),
    done("paid-2", "alice"),
    done("paid-1", "bob"),
  ]) {
    const { record } = await claim(id);
    await db.complete(id, record.token, { result: `v{"id":"${id.key}"}`, ttlMs: 60_000 });
  }
  await claim(done("running-1", "alice"));
  const failed = await claim(done("broken-1"));
  await db.fail(done("broken-1"), failed.record.token, {
    error: { name: "Error", message: "boom", final: false },
    ttlMs: 60_000,
  });
  await db.close();
}

/** Reads the store through its own API, as the truth to compare with. */
async function truth<T>(fn: (db: SqliteStore) => Promise<T>): Promise<T> {
  const db = new SqliteStore({ path });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

beforeAll(seed);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("idemkit inspect / get / delete / stats / sweep", () => {
  it("inspect --json lists exactly the records the store holds", async () => {
    const result = await runCli(["inspect", "--store", store, "--json"]);

    expect(result.code).toBe(0);
    const listed = JSON.parse(result.stdout) as {
      key: string;
      scope: string;
      status: string;
    }[];
    const expected = await truth(async (db) => (await db.list({ limit: 1000 })).records);
    const shape = (r: { key: string; scope: string; status: string }) =>
      `${r.scope}/${r.key}=${r.status}`;
    expect(listed.map(shape).sort()).toEqual(expected.map(shape).sort());
    expect(listed).toHaveLength(5);
    expect(result.stderr).toBe("");
  });

  it("inspect prints a table and filters by status, scope and limit", async () => {
    const table = await runCli([
      "inspect",
      "--store",
      store,
      "--status",
      "completed",
      "--scope",
      "alice",
    ]);
    const limited = await runCli(["inspect", "--store", store, "--limit", "2", "--json"]);

    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(
      /^KEY\s+SCOPE\s+STATUS\s+ATTEMPTS\s+AGE\s+EXPIRES IN\s+SIZE$/,
    );
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(["paid-1", "paid-2"]);
    expect(lines.slice(1).every((l) => l.includes("completed"))).toBe(true);
    expect(JSON.parse(limited.stdout)).toHaveLength(2);
  });

  it("stats counts what the store counts", async () => {
    const result = await runCli(["stats", "--store", store, "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await truth((db) => db.stats()));
    expect(JSON.parse(result.stdout)).toMatchObject({
      completed: 3,
      inProgress: 1,
      failed: 1,
    });
  });

  it("get shows one record's fields and exits 1 for an unknown key", async () => {
    const found = await runCli(["get", "running-1", "--store", store]);
    const missing = await runCli(["get", "no-such-key", "--store", store]);

    expect(found.code).toBe(0);
    expect(found.stdout).toMatch(/^key:\s+running-1$/m);
    expect(found.stdout).toMatch(/^status:\s+in_progress$/m);
    expect(found.stdout).toMatch(/^scope:\s+alice$/m);
    expect(found.stdout).toMatch(/^lease until:/m);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No record with key "no-such-key"');
  });

  it("delete --scope removes that scope's record only", async () => {
    const result = await runCli(["delete", "paid-1", "--scope", "bob", "--store", store]);

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Deleted 1 record");
    expect(await truth((db) => db.get(done("paid-1", "bob")))).toBeUndefined();
    expect(await truth((db) => db.get(done("paid-1", "alice")))).toMatchObject({
      status: "completed",
    });
  });

  it("delete of an unknown key changes nothing and exits 1", async () => {
    const before = await truth((db) => db.stats());

    const result = await runCli(["delete", "no-such-key", "--store", store]);

    expect(result.code).toBe(1);
    expect(await truth((db) => db.stats())).toEqual(before);
  });

  it("sweep removes expired records and reports how many", async () => {
    await truth(async (db) => {
      const { record } = await db.claim({
        id: done("old"),
        fingerprint: "",
        leaseMs: 1,
        ttlMs: 60_000,
      });
      await db.complete(done("old"), record.token, { result: "v1", ttlMs: 1 });
    });
    await new Promise((resolve) => setTimeout(resolve, 20));

    const result = await runCli(["sweep", "--store", store, "--json"]);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ removed: 1 });
    expect(await truth((db) => db.get(done("old")))).toBeUndefined();
  });

  it("reads the store URL from IDEMKIT_STORE when --store is absent", async () => {
    const result = await runCli(["stats", "--json"], { IDEMKIT_STORE: store });

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(await truth((db) => db.stats()));
  });
});
