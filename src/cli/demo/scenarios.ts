/**
 * The four classic failure cases, each against the payments service behind
 * `withIdempotency`, each returning what its clients saw and whether the
 * guarantee held.
 */
import { randomUUID } from "node:crypto";
import { withIdempotency } from "../../http/index.js";
import type { IdempotencyStore } from "../../stores/contract.js";
import { describeSeen, postCharge, postUntilAnswered, type Seen } from "./client.js";
import { crashable } from "./crash.js";
import type { Ledger } from "./ledger.js";
import type { PaymentsService } from "./service.js";

/** One case's outcome, as a row of the demo's table. */
export interface CaseResult {
  readonly name: string;
  readonly saw: string;
  readonly handlerRuns: number;
  readonly charges: number;
  /** What had to hold, in words. */
  readonly expected: string;
  readonly held: boolean;
}

/** What every case needs. */
export interface DemoWorld {
  /** The service's base URL, such as `http://127.0.0.1:PORT`. */
  readonly base: string;
  readonly ledger: Ledger;
  readonly service: PaymentsService;
  readonly store: IdempotencyStore;
  /** A fresh key per case, unique across runs on a persistent store. */
  readonly run: string;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function tally(seen: readonly Seen[]): string {
  const counts = new Map<string, number>();
  for (const one of seen) {
    const text = describeSeen(one);
    counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  return [...counts].map(([text, n]) => (n === 1 ? text : `${n}× ${text}`)).join(", ");
}

/** The client's response is lost after the charge; it retries with the same key. */
export async function droppedResponse(world: DemoWorld): Promise<CaseResult> {
  const key = `${world.run}-dropped`;
  const body = { account: "alice", amount: 1_000 };
  const cut = new AbortController();
  world.service.afterCharge(key, async () => {
    cut.abort();
    await sleep(50);
  });

  const first = await postCharge(world.base, key, body, cut.signal);
  const retry = await postUntilAnswered(world.base, key, body);
  const last = retry.at(-1)!;

  return {
    name: "retried charge after a dropped response",
    saw: `1st: ${describeSeen(first)}; retry: ${tally(retry)}`,
    handlerRuns: world.service.runs(key),
    charges: world.ledger.chargesFor(key),
    expected: "retry replays the charge",
    held:
      first.status === "dropped" &&
      last.status === 201 &&
      last.replayed &&
      world.service.runs(key) === 1 &&
      world.ledger.chargesFor(key) === 1,
  };
}

/** Twenty clients send the same charge at once. */
export async function concurrentDuplicates(world: DemoWorld): Promise<CaseResult> {
  const key = `${world.run}-concurrent`;
  const body = { account: "bob", amount: 2_000 };
  world.service.afterCharge(key, () => sleep(100));

  const answers = await Promise.all(
    Array.from({ length: 20 }, () => postUntilAnswered(world.base, key, body)),
  );
  const finals = answers.map((seen) => seen.at(-1)!);
  const ids = new Set(finals.map((seen) => seen.chargeId));

  return {
    name: "20 concurrent duplicate charges",
    saw: tally(finals),
    handlerRuns: world.service.runs(key),
    charges: world.ledger.chargesFor(key),
    expected: "one charge, 20 identical answers",
    held:
      finals.every((seen) => seen.status === 201) &&
      ids.size === 1 &&
      world.service.runs(key) === 1 &&
      world.ledger.chargesFor(key) === 1,
  };
}

/** A client reuses a key for a different amount. */
export async function reusedKey(world: DemoWorld): Promise<CaseResult> {
  const key = `${world.run}-reused`;

  const first = await postCharge(world.base, key, { account: "carol", amount: 500 });
  const second = await postCharge(world.base, key, { account: "carol", amount: 700 });

  return {
    name: "key reused with a different amount",
    saw: `5.00: ${describeSeen(first)}; 7.00: ${describeSeen(second)} (key reused)`,
    handlerRuns: world.service.runs(key),
    charges: world.ledger.chargesFor(key),
    expected: "second request refused with 422",
    held:
      first.status === 201 &&
      second.status === 422 &&
      world.service.runs(key) === 1 &&
      world.ledger.chargesFor(key) === 1,
  };
}

/**
 * A worker charges, then dies before it can answer or record anything.
 * Its one-second lease runs out; the client's retry reaches a healthy
 * worker, which takes the key over and reconciles with the gateway
 * instead of charging again.
 */
export async function crashedWorker(world: DemoWorld): Promise<CaseResult> {
  const key = `${world.run}-crashed`;
  const body = { account: "dave", amount: 1_500 };
  const dying = crashable(world.store);
  const doomed = withIdempotency(world.service.handle, {
    store: dying.store,
    lease: "1s",
  });
  const crashed = new Promise<void>((resolve) => {
    world.service.afterCharge(key, () => {
      dying.crash();
      resolve();
      return new Promise<never>(() => {});
    });
  });

  // The doomed worker never answers; its promise is left behind on purpose.
  void doomed(
    new Request(`${world.base}/charges`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key },
      body: JSON.stringify(body),
    }),
  );
  await crashed;
  const retry = await postUntilAnswered(world.base, key, body);
  const last = retry.at(-1)!;

  return {
    name: "crashed worker taken over",
    saw: `worker 1 died after charging; retry: ${tally(retry)}`,
    handlerRuns: world.service.runs(key),
    charges: world.ledger.chargesFor(key),
    expected: "taken over after the lease, charged once",
    held:
      retry[0]?.status === 409 &&
      last.status === 201 &&
      last.reconciled === true &&
      world.service.runs(key) === 2 &&
      world.ledger.chargesFor(key) === 1,
  };
}

/** Every case, in the order the demo runs them. */
export const CASES = [droppedResponse, concurrentDuplicates, reusedKey, crashedWorker];

/** A run id for keys: short, unique. */
export function newRunId(): string {
  return `demo-${randomUUID().slice(0, 8)}`;
}
