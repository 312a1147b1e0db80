import { type Command, parsePositiveInt } from "../args.js";
import {
  collect,
  JSON_FLAG,
  parseStatus,
  recordJson,
  recordTable,
  STORE_FLAG,
  withStore,
} from "../records.js";

/** `idemkit inspect`: a table of the records a store holds. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "List the records a store holds, as a table or as JSON.",
  usage: "inspect [--store URL] [--status S] [--scope S] [--limit N] [--json]",
  flags: {
    store: STORE_FLAG,
    status: {
      type: "string",
      value: "S",
      description: "Only records in this status: in_progress, completed, failed, expired",
    },
    scope: { type: "string", value: "S", description: "Only records of this scope" },
    namespace: {
      type: "string",
      value: "N",
      description: "Only records of this namespace",
    },
    limit: {
      type: "string",
      value: "N",
      description: "Show at most N records",
      default: "100",
    },
    json: JSON_FLAG,
  },
  details: `Examples:
  idemkit inspect --store sqlite:./idemkit.db --status in_progress
  idemkit inspect --json --limit 1000 | jq '.[] | .key'`,

  async run({ strings, booleans }) {
    const status = parseStatus(strings.status);
    const limit = parsePositiveInt(strings.limit, "limit");
    const filter = { status, scope: strings.scope, namespace: strings.namespace };

    const records = await withStore(strings.store, (store) =>
      collect(store, filter, limit),
    );

    if (booleans.json) {
      process.stdout.write(`${JSON.stringify(records.map(recordJson), null, 2)}\n`);
    } else if (records.length === 0) {
      process.stdout.write("No records.\n");
    } else {
      process.stdout.write(recordTable(records));
      if (limit !== undefined && records.length === limit) {
        process.stdout.write(`(first ${limit} records; use --limit to see more)\n`);
      }
    }
    return 0;
  },
};
