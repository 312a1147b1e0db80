/**
 * Payments: the classic double charge, shown to be impossible.
 *
 *   npx tsx examples/payments/main.ts
 *
 * A charge is wrapped with `idempotent()` over the embedded SQLite store.
 * Each scenario prints what the callers saw; the process exits 1 if any
 * guarantee did not hold.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idempotent } from "../../src/index.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { InsufficientFundsError, Ledger } from "./ledger.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-payments-"));
const store = new SqliteStore({ path: join(dir, "payments.db") });
const ledger = new Ledger({ alice: 100, bob: 20, shop: 0 });

// charge(user, merchant, amount, key): the key is the caller's request id,
// the user is the scope (keys never match across users), and the
// fingerprint covers what the key promises: this merchant, this amount.
const charge = idempotent(
  (user: string, merchant: string, amount: number, _key: string) =>
    ledger.transfer(user, merchant, amount),
  {
    store,
    name: "charge",
    key: (_user, _merchant, _amount, key) => key,
    scope: (user) => user,
    fingerprint: (_user, merchant, amount) => [merchant, amount],
    // Insufficient funds is a decision, not an accident: replay it.
    cacheError: (error) => error instanceof InsufficientFundsError,
  },
);

const checks: Array<[string, boolean]> = [];
const check = (what: string, holds: boolean) => checks.push([what, holds]);

// 1. A retry after a lost response returns the same payment and moves money once.
const first = await charge("alice", "shop", 30, "order-1001");
const retry = await charge("alice", "shop", 30, "order-1001");
console.log(`retried charge:        ${first.paymentId} then ${retry.paymentId}`);
check("a retry returns the same payment", first.paymentId === retry.paymentId);

// 2. Fifty concurrent duplicates (a double-clicked button, an impatient client).
const burst = await Promise.all(
  Array.from({ length: 50 }, () => charge("alice", "shop", 10, "order-1002")),
);
const burstIds = new Set(burst.map((p) => p.paymentId));
console.log(
  `50 concurrent charges: ${burstIds.size} distinct payment id(s): ${[...burstIds].join(", ")}`,
);
check("50 concurrent duplicates make one payment", burstIds.size === 1);

// 3. Insufficient funds is final: the duplicate gets the same refusal, no second attempt.
const attemptsBefore = ledger.attempts;
const refusals = await Promise.allSettled([
  charge("bob", "shop", 50, "order-2001"),
  charge("bob", "shop", 50, "order-2001").then(() =>
    charge("bob", "shop", 50, "order-2001"),
  ),
]);
const reasons = refusals.map((r) =>
  r.status === "rejected" ? (r.reason as Error).message : "paid?!",
);
console.log(`bob's refused charge:  ${reasons.join(" | ")}`);
check(
  "a cached refusal replays without a second attempt",
  refusals.every((r) => r.status === "rejected") &&
    ledger.attempts - attemptsBefore === 1,
);

// 4. The same key with another amount is refused, not charged.
const reused = await charge("alice", "shop", 99, "order-1001").catch((e: Error) => e);
console.log(
  `reused key, new amount: ${reused instanceof Error ? reused.name : "charged?!"}`,
);
check(
  "a reused key with a different amount is refused",
  reused instanceof Error && reused.name === "IdempotencyKeyReuseError",
);

const moved = ledger.movements.reduce((sum, p) => sum + p.amount, 0);
console.log(`\nmovements: ${ledger.movements.length}, money moved: ${moved}`);
console.log(
  `balances:  ${[...ledger.balances].map(([a, b]) => `${a}=${b}`).join(", ")} (total ${ledger.total()})`,
);
check(
  "money moved exactly once per key (30 + 10)",
  moved === 40 && ledger.movements.length === 2,
);
check("no money created or destroyed", ledger.total() === 120);

console.log("");
for (const [what, holds] of checks) console.log(`${holds ? "✔" : "✘"} ${what}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
process.exitCode = checks.every(([, holds]) => holds) ? 0 : 1;
