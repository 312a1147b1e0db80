/**
 * The wrapper's overhead in one process: a plain async call as the
 * baseline, then `idempotent()` on MemoryStore and SqliteStore for first
 * executions (a fresh key per call) and replays (one key, a small object
 * argument). Calls are awaited one after another; each figure is the
 * median of several rounds.
 *
 *   node --import tsx bench/core.ts [--quick]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { idempotent, MemoryStore } from "../src/index.js";
import type { IdempotencyStore } from "../src/stores/contract.js";
import { SqliteStore } from "../src/stores/sqlite/index.js";
import { measure, printTable } from "./support.js";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 3 : 7;
const MEMORY_OPS = quick ? 20_000 : 100_000;
const SQLITE_OPS = quick ? 2_000 : 10_000;

interface Input {
  id: string;
  user: string;
  amount: number;
  currency: string;
}

const operation = async (input: Input) => ({ ok: true, amount: input.amount });
const inputOf = (id: string): Input => ({
  id,
  user: "user-1",
  amount: 1250,
  currency: "EUR",
});

async function firstExecutions(
  store: IdempotencyStore,
  ops: number,
  tag: string,
  asyncContext = true,
): Promise<number> {
  const wrapped = idempotent(operation, {
    store,
    name: "bench",
    key: (input) => input.id,
    asyncContext,
  });
  return measure(ROUNDS, ops, async (round) => {
    for (let i = 0; i < ops; i++) await wrapped(inputOf(`${tag}-${round}-${i}`));
  });
}

async function replays(store: IdempotencyStore, ops: number): Promise<number> {
  const wrapped = idempotent(operation, {
    store,
    name: "bench-replay",
    key: (input) => input.id,
  });
  const input = inputOf("the-one-key");
  await wrapped(input);
  return measure(ROUNDS, ops, async () => {
    for (let i = 0; i < ops; i++) await wrapped(input);
  });
}

async function derivedReplays(store: IdempotencyStore, ops: number): Promise<number> {
  const wrapped = idempotent(operation, { store, name: "bench-derived" });
  const input = inputOf("derived");
  await wrapped(input);
  return measure(ROUNDS, ops, async () => {
    for (let i = 0; i < ops; i++) await wrapped(input);
  });
}

const dir = mkdtempSync(join(tmpdir(), "idemkit-bench-"));
const rows: (string | number)[][] = [];
const add = (name: string, rate: number, baseline: number, target: string) =>
  rows.push([name, rate, `${(rate / baseline).toFixed(3)}×`, target]);

const baseline = await measure(ROUNDS, MEMORY_OPS, async (round) => {
  for (let i = 0; i < MEMORY_OPS; i++) await operation(inputOf(`plain-${round}-${i}`));
});
rows.push(["plain async call (baseline)", baseline, "1.000×", ""]);

// A fresh store per case: the first-execution case leaves hundreds of
// thousands of records behind, and the garbage collector would charge
// walking them to whatever runs next.
// The asyncContext: false case runs first: once any AsyncLocalStorage has
// run in a process, its promise hooks stay on for every later case.
const memoryCases: Array<[string, (store: MemoryStore) => Promise<number>, string]> = [
  [
    "memory: first execution, asyncContext: false",
    (store) => firstExecutions(store, MEMORY_OPS, "n", false),
    "",
  ],
  [
    "memory: first execution (fresh key)",
    (store) => firstExecutions(store, MEMORY_OPS, "m"),
    "≥ 150,000/s",
  ],
  [
    "memory: replay (one key, explicit)",
    (store) => replays(store, MEMORY_OPS),
    "≥ 300,000/s",
  ],
  ["memory: replay (derived key)", (store) => derivedReplays(store, MEMORY_OPS), ""],
];
for (const [name, run, target] of memoryCases) {
  const store = new MemoryStore({ sweepInterval: 0 });
  add(name, await run(store), baseline, target);
  await store.close();
}

for (const synchronous of ["NORMAL", "FULL"] as const) {
  const store = new SqliteStore({
    path: join(dir, `bench-${synchronous}.db`),
    synchronous,
    sweepInterval: 0,
  });
  add(
    `sqlite (WAL, ${synchronous}): first execution`,
    await firstExecutions(store, SQLITE_OPS, synchronous),
    baseline,
    synchronous === "NORMAL" ? "≥ 10,000/s" : "",
  );
  add(
    `sqlite (WAL, ${synchronous}): replay`,
    await replays(store, SQLITE_OPS),
    baseline,
    "",
  );
  await store.close();
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `\nidemkit core benchmark — Node ${process.version}, ${ROUNDS} rounds, median ops/s, calls awaited one at a time\n`,
);
printTable(["case", "ops/s", "vs baseline", "target"], rows);
