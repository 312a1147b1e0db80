/**
 * A Postgres that hangs instead of refusing: a TCP server that accepts
 * connections and never writes a byte. The pg Pool has no connection
 * timeout of its own, so only the store's `timeout` can give the caller an
 * answer: every call must fail with `IdempotencyStoreError` within about
 * that time, without running the operation. Needs no real Postgres.
 */
import { createServer, type Server, type Socket } from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Idempotency } from "../../../src/index.js";
import { PostgresStore } from "../../../src/stores/postgres/postgres-store.js";

const TIMEOUT_MS = 300;
// Generous: a loaded machine may be slow to fire timers, but never by seconds.
const MARGIN_MS = 2_000;

describe("PostgresStore over a server that accepts and never answers", () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let pool: pg.Pool;
  let store: PostgresStore;

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => undefined);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    const port = typeof address === "object" && address ? address.port : 0;
    pool = new pg.Pool({
      connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
      // No connectionTimeoutMillis: the driver would wait forever.
    });
    pool.on("error", () => undefined);
    store = new PostgresStore({ pool, sweepInterval: false, timeout: TIMEOUT_MS });
  });

  afterAll(async () => {
    await store.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // Every pending connection attempt failed with its socket; the pool ends.
    await pool.end();
  });

  /** Runs `call`, returning what it threw and how long it took. */
  async function timedFailure(call: () => Promise<unknown>) {
    const startedAt = Date.now();
    const error = await call().then(
      (value) => ({ resolved: value }),
      (thrown: unknown) => thrown,
    );
    return { error, elapsed: Date.now() - startedAt };
  }

  const storeError = {
    name: "IdempotencyStoreError",
    code: "IDEMKIT_STORE",
    message: expect.stringMatching(`did not answer within ${TIMEOUT_MS} ms`),
  };

  it("fails a claim with IdempotencyStoreError within its timeout", async () => {
    const { error, elapsed } = await timedFailure(() =>
      store.claim({
        id: { namespace: "hang", scope: "", key: "claim" },
        fingerprint: "",
        leaseMs: 5_000,
        ttlMs: 60_000,
      }),
    );

    expect(error).toMatchObject(storeError);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(sockets.size).toBeGreaterThan(0);
  }, 10_000);

  it("fails idem.run without running the operation", async () => {
    const idem = new Idempotency({ store });
    let ran = 0;

    const { error, elapsed } = await timedFailure(() =>
      idem.run("run", () => {
        ran++;
        return "never";
      }),
    );

    expect(error).toMatchObject(storeError);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(ran).toBe(0);
  }, 10_000);

  it("fails a transaction without running the operation", async () => {
    let ran = 0;

    const { error, elapsed } = await timedFailure(() =>
      store.transaction("tx", async () => {
        ran++;
        return "never";
      }),
    );

    expect(error).toMatchObject(storeError);
    expect(elapsed).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    expect(ran).toBe(0);
  }, 10_000);
});
