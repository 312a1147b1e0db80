/**
 * A toy payments ledger: accounts with balances in memory, and a charge that
 * moves money from a user to a merchant. Not idempotent by itself — that is
 * the point: `main.ts` wraps it.
 */
import { randomUUID } from "node:crypto";

/** Thrown when the payer's balance is too low: a final, deterministic failure. */
export class InsufficientFundsError extends Error {
  readonly code = "INSUFFICIENT_FUNDS";

  constructor(user: string, balance: number, amount: number) {
    super(`${user} has ${balance}, cannot pay ${amount}`);
    this.name = "InsufficientFundsError";
  }
}

export interface Payment {
  readonly paymentId: string;
  readonly from: string;
  readonly to: string;
  readonly amount: number;
  readonly at: Date;
}

export class Ledger {
  readonly balances = new Map<string, number>();
  /** Every money movement that really happened. */
  readonly movements: Payment[] = [];
  /** How many times `transfer` was entered, whatever its outcome. */
  attempts = 0;

  constructor(opening: Record<string, number>) {
    for (const [account, balance] of Object.entries(opening))
      this.balances.set(account, balance);
  }

  /** Moves `amount` from `from` to `to`, after a short "network" delay. */
  async transfer(from: string, to: string, amount: number): Promise<Payment> {
    this.attempts++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const balance = this.balances.get(from) ?? 0;
    if (balance < amount) throw new InsufficientFundsError(from, balance, amount);

    this.balances.set(from, balance - amount);
    this.balances.set(to, (this.balances.get(to) ?? 0) + amount);
    const payment = {
      paymentId: `pay_${randomUUID().slice(0, 8)}`,
      from,
      to,
      amount,
      at: new Date(),
    };
    this.movements.push(payment);
    return payment;
  }

  total(): number {
    let sum = 0;
    for (const balance of this.balances.values()) sum += balance;
    return sum;
  }
}
