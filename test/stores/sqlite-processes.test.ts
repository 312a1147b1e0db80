import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), "idemkit-sqlite-procs-"));
const worker = join(import.meta.dirname, "..", "core", "fixtures", "sqlite-worker.ts");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function race(processes: number, calls: number, keys: number) {
  const path = join(dir, `race-${keys}.db`);
  const log = join(dir, `race-${keys}.log`);
  writeFileSync(log, "");
  const startAt = Date.now() + 1_500;

  const outputs = await Promise.all(
    Array.from({ length: processes }, () =>
      run(
        process.execPath,
        [
          "--import",
          "tsx",
          worker,
          path,
          log,
          String(startAt),
          String(calls),
          "5",
          String(keys),
        ],
        {
          timeout: 60_000,
        },
      ),
    ),
  );

  const executions = readFileSync(log, "utf8").trim().split("\n");
  const results = outputs.flatMap(
    (o) => JSON.parse(o.stdout) as Array<[string, number, number]>,
  );
  return { executions, results };
}

describe("SqliteStore across processes", () => {
  it("runs one key once in total for 4 processes x 50 concurrent calls", async () => {
    const { executions, results } = await race(4, 50, 1);

    expect(executions).toHaveLength(1);
    expect(results).toHaveLength(200);
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
  });

  it("runs each of 20 keys once in total for 4 processes x 100 concurrent calls", async () => {
    const { executions, results } = await race(4, 100, 20);

    const perKey = new Map<string, number>();
    for (const line of executions) {
      const key = line.split(" ")[0]!;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    expect(perKey.size).toBe(20);
    expect([...perKey.values()].every((n) => n === 1)).toBe(true);
    const byKey = new Map<string, string>();
    for (const [key, by, at] of results) {
      const seen = byKey.get(key);
      if (seen === undefined) byKey.set(key, `${by}:${at}`);
      else expect(`${by}:${at}`).toBe(seen);
    }
  });
});
