import type { Command } from "../args.js";
import { Progress } from "../format.js";
import { JSON_FLAG, STORE_FLAG, withStore } from "../records.js";

/** `idemkit sweep`: remove expired records now. */
export const sweepCommand: Command = {
  name: "sweep",
  summary:
    "Remove the records past their expiry now (stores also sweep on their own; Redis expires keys itself).",
  usage: "sweep [--store URL] [--json]",
  flags: { store: STORE_FLAG, json: JSON_FLAG },

  async run({ strings, booleans }) {
    const progress = new Progress();
    const started = Date.now();
    const ticker = setInterval(() => {
      progress.update(`sweeping… ${((Date.now() - started) / 1000).toFixed(1)}s`);
    }, 200);

    let removed: number;
    try {
      removed = await withStore(strings.store, (store) => store.sweep());
    } finally {
      clearInterval(ticker);
      progress.done();
    }

    if (booleans.json) process.stdout.write(`${JSON.stringify({ removed })}\n`);
    else
      process.stdout.write(
        `Removed ${removed} expired record${removed === 1 ? "" : "s"}.\n`,
      );
    return 0;
  },
};
