import { IdempotencyConfigError } from "./errors.js";

/**
 * A duration: milliseconds as a number, or a string such as `"250ms"`,
 * `"30s"`, `"5m"`, `"24h"` or `"7d"`.
 */
export type Duration = number | `${number}${DurationUnit}` | `${number}`;

type DurationUnit = "ms" | "s" | "m" | "h" | "d";

const UNIT_MS: Record<DurationUnit, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;

/**
 * Turns a {@link Duration} into whole milliseconds. Throws
 * `IdempotencyConfigError` for negative, non-finite or malformed input, so
 * a typo fails when options are read, not when a request arrives.
 *
 * @example
 * ```ts
 * parseDuration("30s"); // 30000
 * parseDuration(1500);  // 1500
 * ```
 */
export function parseDuration(value: Duration, option = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) {
      throw new IdempotencyConfigError(
        `${option} must be a non-negative number of milliseconds, got ${value}`,
      );
    }
    return Math.round(value);
  }

  if (typeof value !== "string") {
    throw new IdempotencyConfigError(
      `${option} must be milliseconds or a string such as "30s", got ${typeof value}`,
    );
  }

  const match = DURATION_PATTERN.exec(value);
  if (!match) {
    throw new IdempotencyConfigError(
      `${option} must look like "250ms", "30s", "5m", "24h" or "7d", got "${value}"`,
    );
  }

  const unit = (match[2] ?? "ms") as DurationUnit;
  return Math.round(Number(match[1]) * UNIT_MS[unit]);
}
