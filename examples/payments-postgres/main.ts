/**
 * Payments on Postgres: balances live in the database and move in the same
 * transaction as the idempotency record, so a charge is applied once even
 * when duplicates race or a process dies mid-way.
 *
 *   npx tsx examples/payments-postgres/main.ts
 *
 * Connects to DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
 * works in a schema of its own and drops it at the end. Prints what the
 * callers saw; exits 1 if any guarantee did not hold.
 */
import { randomBytes, randomUUID } from "node:crypto";
import pg from "pg";
import { type PgQueryable, PostgresStore } from "../../src/stores/postgres/index.js";

const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `idemkit_payments_${randomBytes(4).toString("hex")}`;
const pool = new pg.Pool({ connectionString: url, max: 16 });
const store = new PostgresStore({ pool, schema });

class InsufficientFundsError extends Error {
  readonly code = "INSUFFICIENT_FUNDS";
  constructor(user: string, amount: number) {
    super(`${user} cannot pay ${amount}`);
    this.name = "InsufficientFundsError";
  }
}

interface ChargeRequest {
  readonly key: string;
  readonly user: string;
  readonly merchant: string;
  readonly amount: number;
}

interface Payment {
  readonly paymentId: string;
  readonly amount: number;
  readonly at: Date;
}

/** Moves `amount` from the user to the merchant, once per key. */
function charge(request: ChargeRequest): Promise<Payment> {
  return store.transaction(
    request.key,
    async (tx: PgQueryable) => {
      // Lock both balances in a fixed order, so concurrent charges never deadlock.
      const locked = await tx.query(
        `SELECT id, balance FROM "${schema}".accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`,
        [request.user, request.merchant],
      );
      const rows = (locked as { rows: { id: string; balance: number }[] }).rows;
      const payer = rows.find((row) => row.id === request.user);
      if (payer === undefined || payer.balance < request.amount) {
        throw new InsufficientFundsError(request.user, request.amount);
      }

      const move = `UPDATE "${schema}".accounts SET balance = balance + $1 WHERE id = $2`;
      await tx.query(move, [-request.amount, request.user]);
      await tx.query(move, [request.amount, request.merchant]);
      const paymentId = randomUUID();
      await tx.query(`INSERT INTO "${schema}".payments VALUES ($1, $2, $3, $4)`, [
        paymentId,
        request.user,
        request.merchant,
        request.amount,
      ]);
      return { paymentId, amount: request.amount, at: new Date() };
    },
    {
      name: "charge",
      scope: request.user,
      payload: { merchant: request.merchant, amount: request.amount },
      // Insufficient funds is a decision, not an accident: replay it.
      cacheError: (error) => error instanceof InsufficientFundsError,
    },
  );
}

async function balances(): Promise<Record<string, number>> {
  const result = await pool.query(
    `SELECT id, balance FROM "${schema}".accounts ORDER BY id`,
  );
  return Object.fromEntries(result.rows.map((row) => [row.id, row.balance]));
}

async function paymentsFor(user: string): Promise<number> {
  const result = await pool.query(
    `SELECT count(*)::int AS n FROM "${schema}".payments WHERE payer = $1`,
    [user],
  );
  return result.rows[0].n;
}

const checks: Array<[string, boolean]> = [];
const check = (what: string, holds: boolean) => checks.push([what, holds]);

try {
  await store.migrate();
  await pool.query(
    `CREATE TABLE "${schema}".accounts (id text PRIMARY KEY, balance int NOT NULL)`,
  );
  await pool.query(
    `CREATE TABLE "${schema}".payments (id uuid PRIMARY KEY, payer text, payee text, amount int)`,
  );
  await pool.query(
    `INSERT INTO "${schema}".accounts VALUES ('alice', 100), ('bob', 20), ('carol', 500), ('shop', 0)`,
  );
  const before = Object.values(await balances()).reduce((a, b) => a + b, 0);

  // 1. A retry after a lost response returns the same payment; money moves once.
  const first = await charge({
    key: "order-1001",
    user: "alice",
    merchant: "shop",
    amount: 30,
  });
  const retry = await charge({
    key: "order-1001",
    user: "alice",
    merchant: "shop",
    amount: 30,
  });
  console.log(`retried charge:         ${first.paymentId} then ${retry.paymentId}`);
  check("a retry returns the same payment", first.paymentId === retry.paymentId);
  check("the replayed date is a Date", retry.at instanceof Date);
  check("alice paid once", (await balances()).alice === 70);

  // 2. Fifty duplicates at the same moment: one payment, money moved once.
  const storm = await Promise.all(
    Array.from({ length: 50 }, () =>
      charge({ key: "order-1002", user: "carol", merchant: "shop", amount: 200 }),
    ),
  );
  const ids = new Set(storm.map((payment) => payment.paymentId));
  console.log(
    `50 concurrent duplicates: ${ids.size} payment, carol has ${(await balances()).carol}`,
  );
  check("50 concurrent duplicates make one payment", ids.size === 1);
  check(
    "carol was charged once",
    (await balances()).carol === 300 && (await paymentsFor("carol")) === 1,
  );

  // 3. A declined charge is replayed as the same decline; nothing moves.
  const declined = await charge({
    key: "order-1003",
    user: "bob",
    merchant: "shop",
    amount: 50,
  }).catch((error: Error) => error);
  const again = await charge({
    key: "order-1003",
    user: "bob",
    merchant: "shop",
    amount: 50,
  }).catch((error: Error & { replayed?: boolean }) => error);
  console.log(`declined charge:        ${String(declined)} / replayed: ${String(again)}`);
  check(
    "a decline replays as the same decline",
    declined instanceof InsufficientFundsError &&
      (again as { replayed?: boolean }).replayed === true,
  );
  check("bob kept his money", (await balances()).bob === 20);

  // 4. The same key for a different charge is refused.
  const reuse = await charge({
    key: "order-1001",
    user: "alice",
    merchant: "shop",
    amount: 99,
  }).catch((error: Error & { code?: string }) => error);
  console.log(`key reused:             ${(reuse as { code?: string }).code}`);
  check(
    "a reused key is refused",
    (reuse as { code?: string }).code === "IDEMKIT_KEY_REUSE",
  );

  const after = await balances();
  const total = Object.values(after).reduce((a, b) => a + b, 0);
  console.log(
    `balances:               ${JSON.stringify(after)} (sum ${total}, was ${before})`,
  );
  check("the sum of balances is unchanged", total === before);
} finally {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await store.close();
  await pool.end();
}

console.log("");
for (const [what, holds] of checks) console.log(`${holds ? "ok  " : "FAIL"} ${what}`);
process.exitCode = checks.every(([, holds]) => holds) ? 0 : 1;
