/**
 * The demo's payment gateway: accounts and charges in memory. It counts
 * every time money moves, which is what the demo checks.
 */

/** One charge that moved money. */
export interface Charge {
  readonly id: string;
  readonly account: string;
  /** In cents. */
  readonly amount: number;
  /** The caller's reference (the idempotency key), for reconciliation. */
  readonly reference: string;
}

/** Accounts and the charges made against them. */
export class Ledger {
  readonly #balances = new Map<string, number>();
  readonly #charges: Charge[] = [];

  /** Opens an account with a starting balance in cents. */
  open(account: string, cents: number): void {
    this.#balances.set(account, cents);
  }

  /** The balance in cents. */
  balance(account: string): number {
    return this.#balances.get(account) ?? 0;
  }

  /** Moves money: debits the account and records the charge. */
  charge(account: string, amount: number, reference: string): Charge {
    const balance = this.#balances.get(account);
    if (balance === undefined) throw new Error(`No account "${account}"`);
    const charge = { id: `ch_${this.#charges.length + 1}`, account, amount, reference };
    this.#balances.set(account, balance - amount);
    this.#charges.push(charge);
    return charge;
  }

  /**
   * The charge made under `reference`, if any: what a worker that took
   * over a crashed one asks before charging again.
   */
  findByReference(reference: string): Charge | undefined {
    return this.#charges.find((charge) => charge.reference === reference);
  }

  /** How many charges moved money for `reference`. */
  chargesFor(reference: string): number {
    return this.#charges.filter((charge) => charge.reference === reference).length;
  }
}
