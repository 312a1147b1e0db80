/** Small helpers shared by the benchmarks: timing, medians, tables. */

export interface Measured {
  readonly name: string;
  readonly opsPerSec: number;
  readonly note?: string;
}

/** Runs `batch` `rounds` times and returns the median ops/s. */
export async function measure(
  rounds: number,
  operations: number,
  batch: (round: number) => Promise<void>,
): Promise<number> {
  const rates: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    await batch(round);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    rates.push(operations / seconds);
  }
  return median(rates);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Prints a markdown table. */
export function printTable(headers: string[], rows: (string | number)[][]): void {
  const cells = rows.map((row) =>
    row.map((cell) => (typeof cell === "number" ? format(cell) : cell)),
  );
  console.log(`| ${headers.join(" | ")} |`);
  console.log(`| ${headers.map(() => "---").join(" | ")} |`);
  for (const row of cells) console.log(`| ${row.join(" | ")} |`);
}

export function format(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  return value.toFixed(2);
}
