/**
 * Loud skips. A test file that cannot run part of its suite (no Redis, no
 * Postgres) records why here; the global teardown prints every reason in a
 * banner at the end of the run, so a skip is never silent.
 */
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const SKIP_LOG = join(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "..",
  ".tmp",
  "skipped.log",
);

/** Records a skipped part of the suite and says so at once on stderr. */
export function reportSkip(what: string, why: string): void {
  mkdirSync(dirname(SKIP_LOG), { recursive: true });
  appendFileSync(SKIP_LOG, `${what}: ${why}\n`);
  process.stderr.write(`\n!!! SKIPPED ${what}: ${why}\n`);
}
