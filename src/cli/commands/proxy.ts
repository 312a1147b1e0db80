import type { Command } from "../args.js";
import { CliUsageError } from "../errors.js";

/** Placeholder replaced when the HTTP layer lands. */
export const proxyCommand: Command = {
  name: "proxy",
  summary: "Put Idempotency-Key semantics in front of any HTTP service.",
  usage: "proxy --upstream URL [options]",
  flags: {},
  async run() {
    throw new CliUsageError("proxy is not available yet");
  },
};
