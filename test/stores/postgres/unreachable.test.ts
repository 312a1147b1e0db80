/**
 * Postgres out of reach: calls fail fast with `IdempotencyStoreError`, and
 * work again once the server is back. The second part starts a throwaway
 * cluster of its own (initdb + pg_ctl on a free port, never the machine's
 * server), stops it hard and starts it again; without those tools it is
 * skipped loudly.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { Idempotency } from "../../../src/core/engine.js";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";
import { reportSkip } from "../../support/skips.js";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        resolve(typeof address === "object" && address ? address.port : 0),
      );
    });
  });
}

const claimOf = (key: string) => ({
  id: { namespace: "down", scope: "", key },
  fingerprint: "",
  leaseMs: 5_000,
  ttlMs: 60_000,
});

describe("PostgresStore with Postgres out of reach", () => {
  it("fails fast with IdempotencyStoreError on a closed port", async () => {
    const port = await freePort();
    const pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
    });
    const store = new PostgresStore({ pool, sweepInterval: false, timeout: "2s" });
    const idem = new Idempotency({ store });

    const startedAt = Date.now();
    const claim = await store.claim(claimOf("a")).catch((error: unknown) => error);
    const run = await idem.run("a", () => "never").catch((error: unknown) => error);
    const transaction = await store
      .transaction("a", async () => "never")
      .catch((error: unknown) => error);
    const elapsed = Date.now() - startedAt;

    expect(claim).toMatchObject({ name: "IdempotencyStoreError", code: "IDEMKIT_STORE" });
    expect(run).toMatchObject({ name: "IdempotencyStoreError", code: "IDEMKIT_STORE" });
    expect(transaction).toMatchObject({
      name: "IdempotencyStoreError",
      code: "IDEMKIT_STORE",
    });
    expect(elapsed).toBeLessThan(2_000);
    await store.close();
    await pool.end();
  });
});

const pgBin = ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"].find((dir) =>
  existsSync(join(dir, "initdb")),
);
const asRoot = process.getuid?.() === 0;
const throwawayReason =
  pgBin === undefined
    ? "initdb/pg_ctl not found"
    : asRoot && !existsSync("/usr/sbin/runuser")
      ? "running as root without runuser to start a cluster as postgres"
      : undefined;
if (throwawayReason !== undefined) {
  reportSkip("Postgres stop/start recovery test", throwawayReason);
}

describe.skipIf(throwawayReason !== undefined)(
  "PostgresStore over a server that stops and starts",
  () => {
    // Made in the test, so a skipped suite leaves no directory behind.
    let dir = "";
    let data = "";

    // initdb and postgres refuse to run as root: run them as the postgres user.
    const run = (tool: string, args: string[]) => {
      const command = join(pgBin as string, tool);
      if (asRoot)
        execFileSync("/usr/sbin/runuser", ["-u", "postgres", "--", command, ...args]);
      else execFileSync(command, args);
    };
    let port = 0;
    const start = () =>
      run("pg_ctl", [
        "-D",
        data,
        "-w",
        "-l",
        join(dir, "log"),
        "-o",
        `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
        "start",
      ]);
    const stop = () => run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);

    afterAll(() => {
      try {
        stop();
      } catch {
        // Already stopped.
      }
      rmSync(dir, { recursive: true, force: true });
    });

    it("fails fast while it is down and recovers when it is back", async () => {
      dir = mkdtempSync(join(tmpdir(), "idemkit-pgctl-"));
      data = join(dir, "data");
      if (asRoot)
        chownSync(dir, Number(execFileSync("id", ["-u", "postgres"]).toString()), 0);
      run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
      port = await freePort();
      start();
      const pool = new pg.Pool({
        connectionString: `postgres://postgres@127.0.0.1:${port}/postgres`,
        max: 4,
      });
      // pg reports errors of idle pooled connections as events; without a
      // listener a server restart would crash the process.
      pool.on("error", () => undefined);
      const store = new PostgresStore({ pool, sweepInterval: false, timeout: "2s" });
      const idem = new Idempotency({ store });
      await store.migrate();
      const before = await idem.run("up-1", () => "first");

      stop();
      const downAt = Date.now();
      const whileDown = await idem
        .run("down-1", () => "never")
        .catch((error: unknown) => error);
      const downMs = Date.now() - downAt;
      start();
      const afterRestart = await idem.run("up-2", () => "second");
      const replay = await idem.run("up-1", () => "again");

      expect(before).toBe("first");
      expect(whileDown).toMatchObject({ code: "IDEMKIT_STORE" });
      expect(downMs).toBeLessThan(2_500);
      expect(afterRestart).toBe("second");
      expect(replay).toBe("first");
      await store.close();
      await pool.end();
    }, 60_000);
  },
);
