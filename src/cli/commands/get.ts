import type { Command } from "../args.js";
import { EXIT } from "../errors.js";
import {
  findByKey,
  JSON_FLAG,
  recordDetails,
  recordJson,
  STORE_FLAG,
  withStore,
} from "../records.js";

/** `idemkit get KEY`: one record in full. */
export const getCommand: Command = {
  name: "get",
  summary:
    "Show every record stored under KEY (in every scope and namespace unless narrowed). Exits 1 when there is none.",
  usage: "get KEY [--scope S] [--namespace N] [--store URL] [--json]",
  positionals: ["KEY"],
  flags: {
    store: STORE_FLAG,
    scope: { type: "string", value: "S", description: "Only the record of this scope" },
    namespace: {
      type: "string",
      value: "N",
      description: "Only the record of this namespace",
    },
    json: JSON_FLAG,
  },
  details: `Example:
  idemkit get order-1234 --store redis://127.0.0.1:6379`,

  async run({ strings, booleans, positionals }) {
    const key = positionals[0]!;
    const records = await withStore(strings.store, (store) =>
      findByKey(store, key, strings.scope, strings.namespace),
    );

    if (booleans.json) {
      process.stdout.write(`${JSON.stringify(records.map(recordJson), null, 2)}\n`);
    } else if (records.length === 0) {
      process.stderr.write(`No record with key "${key}".\n`);
    } else {
      process.stdout.write(records.map((r) => recordDetails(r)).join("\n"));
    }
    return records.length === 0 ? EXIT.failed : EXIT.ok;
  },
};
