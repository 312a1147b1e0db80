import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { PG_URL, serverReachable } from "../support/postgres.js";
import { reportSkip } from "../support/skips.js";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

// The Postgres example needs a real server (PGlite cannot serve a pg Pool).
const postgresReachable = await serverReachable();
if (!postgresReachable) {
  reportSkip(
    `examples/payments-postgres (Postgres server at ${PG_URL})`,
    "not reachable: the example needs a real server",
  );
}

describe("examples", () => {
  it.each(["payments", "orders"])(
    "%s runs and every guarantee it checks holds",
    async (name) => {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", join(root, "examples", name, "main.ts")],
        {
          cwd: root,
          timeout: 60_000,
        },
      );

      expect(stdout).toContain("✔");
      expect(stdout).not.toContain("✘");
    },
  );

  it.skipIf(!postgresReachable)(
    "payments-postgres runs against the test Postgres and every guarantee it checks holds",
    async () => {
      const outcome = await run(
        process.execPath,
        ["--import", "tsx", join(root, "examples", "payments-postgres", "main.ts")],
        {
          cwd: root,
          timeout: 60_000,
          env: { ...process.env, DATABASE_URL: PG_URL },
        },
      ).then(
        ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
        (error: { code?: unknown; stdout?: string; stderr?: string }) => ({
          code: error.code,
          stdout: error.stdout ?? "",
          stderr: error.stderr ?? "",
        }),
      );

      expect(outcome.code, outcome.stderr).toBe(0);
      const checks = outcome.stdout
        .split("\n")
        .filter((line) => /^(ok|FAIL)\b/.test(line));
      expect(checks).toEqual(
        [
          "a retry returns the same payment",
          "the replayed date is a Date",
          "alice paid once",
          "50 concurrent duplicates make one payment",
          "carol was charged once",
          "a decline replays as the same decline",
          "bob kept his money",
          "a reused key is refused",
          "the sum of balances is unchanged",
        ].map((what) => `ok   ${what}`),
      );
      expect(outcome.stdout).toContain(
        "50 concurrent duplicates: 1 payment, carol has 300",
      );
    },
  );
});
