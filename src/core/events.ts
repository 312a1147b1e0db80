import diagnostics from "node:diagnostics_channel";
import type { RecordId } from "./record.js";

/** The kinds of event the engine emits. */
export type IdempotencyEventType =
  | "acquired"
  | "replayed"
  | "busy"
  | "mismatch"
  | "completed"
  | "failed"
  | "taken_over"
  | "lease_lost";

/**
 * One engine event. `attempt` and `token` are set when the event concerns
 * an owner; `error` on `failed` and `lease_lost`.
 */
export interface IdempotencyEvent {
  readonly type: IdempotencyEventType;
  readonly id: RecordId;
  readonly store: string;
  readonly attempt?: number | undefined;
  readonly token?: number | undefined;
  readonly error?: unknown;
  /** Set on `completed` when the result could not be stored for replay. */
  readonly resultUnavailable?: string | undefined;
  /** `false` on `completed` when `keepResult` declined to store the result. */
  readonly kept?: boolean | undefined;
  /** Set on `replayed` when the replay is a cached failure. */
  readonly replayedError?: boolean | undefined;
}

/** A hook that receives every event. Exceptions it throws are ignored. */
export type EventHandler = (event: IdempotencyEvent) => void;

/**
 * Diagnostics channels, one per event type, named `idemkit:<type>` (for
 * example `idemkit:acquired`), for tracing tools that subscribe without
 * touching application code.
 *
 * @example
 * ```ts
 * import diagnostics from "node:diagnostics_channel";
 * diagnostics.subscribe("idemkit:taken_over", (event) => metrics.increment("takeovers"));
 * ```
 */
export const CHANNELS: Readonly<Record<IdempotencyEventType, diagnostics.Channel>> = {
  acquired: diagnostics.channel("idemkit:acquired"),
  replayed: diagnostics.channel("idemkit:replayed"),
  busy: diagnostics.channel("idemkit:busy"),
  mismatch: diagnostics.channel("idemkit:mismatch"),
  completed: diagnostics.channel("idemkit:completed"),
  failed: diagnostics.channel("idemkit:failed"),
  taken_over: diagnostics.channel("idemkit:taken_over"),
  lease_lost: diagnostics.channel("idemkit:lease_lost"),
};

/** Sends an event to the hook and the channel; neither can break the caller. */
export function emit(handler: EventHandler | undefined, event: IdempotencyEvent): void {
  const channel = CHANNELS[event.type];
  if (channel.hasSubscribers) channel.publish(event);
  if (handler === undefined) return;
  try {
    handler(event);
  } catch {
    // An observer's failure must not change the outcome of the operation.
  }
}
