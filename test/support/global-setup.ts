/**
 * Runs once around the whole test run: clears the skip log first and, at
 * the end, prints every skip in a banner. Service set-up (Redis, Postgres)
 * is in `services.ts`.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { SKIP_LOG } from "./skips.js";

export default function setup(): () => void {
  rmSync(SKIP_LOG, { force: true });

  return () => {
    if (!existsSync(SKIP_LOG)) return;
    const lines = readFileSync(SKIP_LOG, "utf8").trim().split("\n");
    const bar = "!".repeat(78);
    process.stderr.write(
      `\n${bar}\n!!! ${lines.length} part(s) of the suite were SKIPPED:\n`,
    );
    for (const line of lines) process.stderr.write(`!!!   ${line}\n`);
    process.stderr.write(`${bar}\n\n`);
  };
}
