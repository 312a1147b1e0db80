/**
 * Text output helpers: aligned tables, short durations and sizes, and a
 * progress line that is drawn only on a terminal.
 */

/**
 * Renders rows as a left-aligned table with a header row.
 *
 * @example
 * ```ts
 * process.stdout.write(table(["STATUS", "RECORDS"], [["completed", "3"]]));
 * ```
 */
export function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join("\n")}\n`;
}

/** `950ms`, `12s`, `5m`, `3h`, `2d`; negative values get a leading `-`. */
export function shortDuration(ms: number): string {
  const sign = ms < 0 ? "-" : "";
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${sign}${Math.round(abs)}ms`;
  if (abs < 60_000) return `${sign}${Math.floor(abs / 1_000)}s`;
  if (abs < 3_600_000) return `${sign}${Math.floor(abs / 60_000)}m`;
  if (abs < 86_400_000) return `${sign}${Math.floor(abs / 3_600_000)}h`;
  return `${sign}${Math.floor(abs / 86_400_000)}d`;
}

/** `512 B`, `1.5 KiB`, `2.0 MiB`. */
export function shortSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Cuts text to `max` characters with an ellipsis. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * A one-line progress indicator on stderr. It draws only when stderr is a
 * terminal, so pipes and log files stay clean.
 *
 * @example
 * ```ts
 * const progress = new Progress();
 * progress.update(`reading records… ${read}`);
 * progress.done();
 * ```
 */
export class Progress {
  readonly #enabled: boolean;
  readonly #stream: NodeJS.WriteStream;
  #last = 0;
  #drawn = false;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#enabled = stream.isTTY === true;
  }

  /** Shows `text`, at most ten times a second. */
  update(text: string): void {
    if (!this.#enabled) return;
    const now = Date.now();
    if (now - this.#last < 100) return;
    this.#last = now;
    this.#stream.write(`\r\x1b[2K${text}`);
    this.#drawn = true;
  }

  /** Erases the line. */
  done(): void {
    if (this.#drawn) this.#stream.write("\r\x1b[2K");
    this.#drawn = false;
  }
}
