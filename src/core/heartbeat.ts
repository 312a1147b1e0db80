import type { IdempotencyStore } from "../stores/contract.js";
import type { Logger } from "./logger.js";
import type { RecordId } from "./record.js";

/** Whom a keeper tells when a lease is gone. */
export interface LeaseHolder {
  /** Called once when the lease is lost (fenced out, or not renewed in time). */
  onLeaseLost(reason: string): void;
}

/** What a heartbeat renews: one owner's claim. */
export interface HeartbeatPlan {
  readonly store: IdempotencyStore;
  readonly id: RecordId;
  readonly token: number;
  readonly leaseMs: number;
  readonly intervalMs: number;
  readonly logger: Logger;
}

/** A running owner's lease, as the keeper tracks it. */
export interface KeptLease {
  /** Stops renewing; call when the operation settles. */
  stop(): void;
}

// One object per running owner, with no closures: starting an operation
// costs this allocation and a set insertion.
class Lease implements KeptLease {
  nextBeatAt: number;
  /** The last lease end the store confirmed (or the claim's). */
  leaseEnd: number;
  beating = false;
  stopped = false;

  constructor(
    readonly leases: Set<Lease>,
    readonly plan: HeartbeatPlan,
    readonly holder: LeaseHolder,
    now: number,
  ) {
    this.nextBeatAt = now + plan.intervalMs;
    this.leaseEnd = now + plan.leaseMs;
  }

  stop(): void {
    this.stopped = true;
    this.leases.delete(this);
  }
}

/**
 * Renews the leases of every running owner of one engine from a single
 * timer, so starting an operation costs a set insertion rather than a timer
 * of its own. Renewal is fenced by the token: it can only extend the
 * owner's own claim.
 *
 * Leases due within a quarter interval of a tick are renewed together
 * (renewing a little early is harmless), so the timer fires a few times per
 * interval however many operations run.
 *
 * A renewal that fails on a store error is retried at the next tick; the
 * lease counts as lost only once its last confirmed end has passed, because
 * until then no one else can have taken the key.
 */
export class LeaseKeeper {
  readonly #leases = new Set<Lease>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

  /** Starts renewing a lease claimed just now; `holder` hears if it is lost. */
  keep(plan: HeartbeatPlan, holder: LeaseHolder): KeptLease {
    const now = Date.now();
    const lease = new Lease(this.#leases, plan, holder, now);
    this.#leases.add(lease);
    this.#arm(lease.nextBeatAt, now);
    return lease;
  }

  #arm(at: number, now: number): void {
    if (at >= this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - now));
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;

    for (const lease of this.#leases) {
      if (lease.beating) continue;
      if (lease.nextBeatAt <= now + lease.plan.intervalMs / 4) void this.#beat(lease);
      else next = Math.min(next, lease.nextBeatAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next, now);
  }

  async #beat(lease: Lease): Promise<void> {
    const { store, id, token, leaseMs, intervalMs, logger } = lease.plan;
    const startedAt = Date.now();
    lease.beating = true;
    try {
      const renewed = await store.extend(id, token, leaseMs);
      if (lease.stopped) return;
      if (!renewed) return this.#lose(lease, "the record was taken over or removed");
      lease.leaseEnd = startedAt + leaseMs;
    } catch (error) {
      if (lease.stopped) return;
      logger.warn({ err: error, id }, "idemkit: lease renewal failed; retrying");
      if (Date.now() >= lease.leaseEnd) {
        return this.#lose(lease, "the lease ran out while the store was unreachable");
      }
    } finally {
      lease.beating = false;
    }

    const now = Date.now();
    lease.nextBeatAt = now + intervalMs;
    this.#arm(lease.nextBeatAt, now);
  }

  #lose(lease: Lease, reason: string): void {
    lease.stop();
    lease.holder.onLeaseLost(reason);
  }
}
