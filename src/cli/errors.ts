/**
 * The one error the CLI turns into a one-line message and exit code 2:
 * a bad flag, a wrong store URL, a store that cannot be reached.
 *
 * @example
 * ```ts
 * throw new CliUsageError(`--limit must be a whole number, got "${value}"`);
 * ```
 */
export class CliUsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliUsageError";
  }
}

/** Exit codes, documented in `docs/cli.md`. */
export const EXIT = {
  /** Everything worked. */
  ok: 0,
  /** The command ran but found nothing (`get`, `delete`) or a guarantee failed (`demo`). */
  failed: 1,
  /** Bad usage, bad configuration, or a store or port that cannot be used. */
  usage: 2,
} as const;

/** A one-line description of any thrown value, without a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const text = error.message.split("\n")[0]?.trim() || error.name;
    const cause = (error as { cause?: unknown }).cause;
    if (cause instanceof Error && cause.message && !text.includes(cause.message)) {
      return `${text}: ${cause.message.split("\n")[0]}`;
    }
    return text;
  }
  return String(error);
}
