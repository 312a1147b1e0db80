import type { IdempotencyStore } from "../stores/contract.js";
import type { Logger } from "./logger.js";
import type { RecordId } from "./record.js";

/** What a heartbeat renews and whom it tells when the lease is gone. */
export interface HeartbeatPlan {
  readonly store: IdempotencyStore;
  readonly id: RecordId;
  readonly token: number;
  readonly leaseMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
  /** Called once when the lease is lost (fenced out, or not renewed in time). */
  readonly onLost: (reason: string) => void;
}

/**
 * Renews an owner's lease every `intervalMs` until stopped. Renewal is fenced
 * by the token, so it can only extend the owner's own claim.
 *
 * A renewal that fails on a store error is retried at the next tick; the
 * lease counts as lost only once its last known end has passed, because
 * until then no one else can have taken the key.
 */
export class Heartbeat {
  readonly #plan: HeartbeatPlan;
  #timer: NodeJS.Timeout | undefined;
  #leaseEnd: number;
  #stopped = false;

  constructor(plan: HeartbeatPlan) {
    this.#plan = plan;
    this.#leaseEnd = Date.now() + plan.leaseMs;
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#beat(), this.#plan.intervalMs);
    this.#timer.unref();
  }

  async #beat(): Promise<void> {
    const { store, id, token, leaseMs, logger } = this.#plan;
    const startedAt = Date.now();
    try {
      const renewed = await store.extend(id, token, leaseMs);
      if (this.#stopped) return;
      if (!renewed) return this.#lose("the record was taken over or removed");
      this.#leaseEnd = startedAt + leaseMs;
    } catch (error) {
      if (this.#stopped) return;
      logger.warn({ err: error, id }, "idemkit: lease renewal failed; retrying");
      if (Date.now() >= this.#leaseEnd)
        return this.#lose("the lease ran out while the store was unreachable");
    }
    this.#schedule();
  }

  #lose(reason: string): void {
    this.stop();
    this.#plan.onLost(reason);
  }
}
