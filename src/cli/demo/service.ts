/**
 * The demo's payments service: `POST /charges {account, amount}` as a Web
 * handler, meant to run behind `withIdempotency`. It counts its runs per
 * key, and lets a scenario step in right after money moved (to drop the
 * response, or to crash the worker).
 */
import type { Charge, Ledger } from "./ledger.js";

/** What a scenario may do after a charge went through. */
export type AfterCharge = (charge: Charge) => Promise<void>;

/** The service and its counters. */
export class PaymentsService {
  readonly #ledger: Ledger;
  readonly #runs = new Map<string, number>();
  readonly #after = new Map<string, AfterCharge>();

  constructor(ledger: Ledger) {
    this.#ledger = ledger;
  }

  /** How many times the handler ran for `key`. */
  runs(key: string): number {
    return this.#runs.get(key) ?? 0;
  }

  /** Runs `fn` once, after the next charge under `key`. */
  afterCharge(key: string, fn: AfterCharge): void {
    this.#after.set(key, fn);
  }

  /** The Web handler. */
  readonly handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (request.method !== "POST" || url.pathname !== "/charges") {
      return Response.json({ error: "not found" }, { status: 404 });
    }
    const key = request.headers.get("idempotency-key") ?? "";
    this.#runs.set(key, this.runs(key) + 1);
    const input = (await request.json()) as { account: string; amount: number };

    // A worker that took over a crashed one reconciles with the gateway
    // first: the crashed attempt may have charged before it died.
    const earlier = key === "" ? undefined : this.#ledger.findByReference(key);
    if (earlier !== undefined)
      return Response.json({ ...earlier, reconciled: true }, { status: 201 });

    const charge = this.#ledger.charge(input.account, input.amount, key);
    const after = this.#after.get(key);
    if (after !== undefined) {
      this.#after.delete(key);
      await after(charge);
    }
    return Response.json(
      { ...charge, balance: this.#ledger.balance(input.account) },
      { status: 201 },
    );
  };
}
