import type { Command } from "../args.js";
import { CliUsageError } from "../errors.js";

/** Placeholder replaced when the HTTP layer lands. */
export const demoCommand: Command = {
  name: "demo",
  summary: "Run the payments demo.",
  usage: "demo [--store URL]",
  flags: {},
  async run() {
    throw new CliUsageError("demo is not available yet");
  },
};
