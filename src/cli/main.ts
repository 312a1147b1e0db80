#!/usr/bin/env node
/**
 * The `idemkit` command: dispatches to one command per file in
 * `commands/`. Every failure ends as one line on stderr and exit code 2;
 * `IDEMKIT_DEBUG=1` adds the stack trace.
 */
import { readFileSync } from "node:fs";
import { type Command, commandHelp, parseCommandArgs } from "./args.js";
import { deleteCommand } from "./commands/delete.js";
import { demoCommand } from "./commands/demo.js";
import { getCommand } from "./commands/get.js";
import { inspectCommand } from "./commands/inspect.js";
import { proxyCommand } from "./commands/proxy.js";
import { statsCommand } from "./commands/stats.js";
import { sweepCommand } from "./commands/sweep.js";
import { CliUsageError, describeError, EXIT } from "./errors.js";

const COMMANDS: readonly Command[] = [
  proxyCommand,
  inspectCommand,
  getCommand,
  deleteCommand,
  statsCommand,
  sweepCommand,
  demoCommand,
];

function version(): string {
  const url = new URL("../../package.json", import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { version: string }).version;
}

/** The first clause of a summary, for the command list. */
function headline(summary: string): string {
  return summary
    .split(/[.:]\s/)[0]!
    .replace(/\s*\(.*\)/, "")
    .replace(/\.$/, "");
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: idemkit COMMAND [options]

Idempotency-Key semantics for any HTTP service, and a look inside the stores.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${headline(c.summary)}`).join("\n")}

Options:
  -h, --help     Show this help (or: idemkit COMMAND --help)
  -v, --version  Print the version

Store URLs: memory:, sqlite:PATH (default sqlite:./idemkit.db), redis://HOST:PORT,
postgres://USER@HOST/DB. Flags fall back to environment variables such as
IDEMKIT_STORE. Exit codes: 0 ok, 1 not found or a guarantee failed, 2 usage,
configuration or store error.
`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    if (first === "help" && rest[0] !== undefined) return main([rest[0], "--help"]);
    process.stdout.write(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === "-v" || first === "--version") {
    process.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }

  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) {
    throw new CliUsageError(
      first.startsWith("-")
        ? `unknown option "${first}" (see: idemkit --help)`
        : `unknown command "${first}" (see: idemkit --help)`,
    );
  }
  const args = parseCommandArgs(command, rest);
  if (args === "help") {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  return command.run(args);
}

function fail(error: unknown): void {
  process.stderr.write(`idemkit: ${describeError(error)}\n`);
  if (process.env.IDEMKIT_DEBUG && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  // Exit now: a driver that failed to connect may hold timers for seconds.
  process.exit(EXIT.usage);
}

process.on("unhandledRejection", fail);

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
}, fail);
