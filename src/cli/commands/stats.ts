import type { Command } from "../args.js";
import { table } from "../format.js";
import { JSON_FLAG, STORE_FLAG, withStore } from "../records.js";

/** `idemkit stats`: how many records per status. */
export const statsCommand: Command = {
  name: "stats",
  summary: "Count the records a store holds, per status.",
  usage: "stats [--store URL] [--json]",
  flags: { store: STORE_FLAG, json: JSON_FLAG },

  async run({ strings, booleans }) {
    const stats = await withStore(strings.store, (store) => store.stats());

    if (booleans.json) {
      process.stdout.write(`${JSON.stringify(stats)}\n`);
      return 0;
    }
    const rows = [
      ["in_progress", String(stats.inProgress)],
      ["completed", String(stats.completed)],
      ["failed", String(stats.failed)],
      ["expired", String(stats.expired)],
      ["total", String(stats.total)],
    ];
    process.stdout.write(table(["STATUS", "RECORDS"], rows));
    return 0;
  },
};
