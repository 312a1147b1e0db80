import type { Command } from "../args.js";
import { EXIT } from "../errors.js";
import { findByKey, STORE_FLAG, withStore } from "../records.js";

/** `idemkit delete KEY`: forget a key, so its next request runs again. */
export const deleteCommand: Command = {
  name: "delete",
  summary:
    "Delete the records stored under KEY, so the next request with it runs again. Without --scope, the key is deleted in every scope. Exits 1 when there was none.",
  usage: "delete KEY [--scope S] [--namespace N] [--store URL]",
  positionals: ["KEY"],
  flags: {
    store: STORE_FLAG,
    scope: { type: "string", value: "S", description: "Only the record of this scope" },
    namespace: {
      type: "string",
      value: "N",
      description: "Only the record of this namespace",
    },
  },
  details: `Example:
  idemkit delete order-1234 --scope tenant-7`,

  async run({ strings, positionals }) {
    const key = positionals[0]!;
    const deleted = await withStore(strings.store, async (store) => {
      const records = await findByKey(store, key, strings.scope, strings.namespace);
      let count = 0;
      for (const { namespace, scope } of records) {
        if (await store.delete({ namespace, scope, key })) count += 1;
      }
      return count;
    });

    if (deleted === 0) {
      process.stderr.write(`No record with key "${key}".\n`);
      return EXIT.failed;
    }
    process.stdout.write(`Deleted ${deleted} record${deleted === 1 ? "" : "s"}.\n`);
    return EXIT.ok;
  },
};
