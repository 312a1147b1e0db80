/**
 * Flag parsing and help text for every command, over `node:util`'s
 * `parseArgs` in strict mode. A flag may name an environment variable that
 * supplies its value when the flag is absent (flags win).
 */
import { parseArgs } from "node:util";
import { CliUsageError } from "./errors.js";

/** One flag of a command. */
export interface FlagSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** What the flag does, one line, for `--help`. */
  readonly description: string;
  /** The placeholder shown in `--help`, such as `URL`. */
  readonly value?: string;
  /** An environment variable read when the flag is absent. */
  readonly env?: string;
  /** The value when neither the flag nor its variable is set. */
  readonly default?: string;
}

/** What a command's `run` receives. */
export interface ParsedArgs {
  readonly strings: Readonly<Record<string, string | undefined>>;
  readonly booleans: Readonly<Record<string, boolean>>;
  readonly positionals: readonly string[];
}

/** A sub-command of `idemkit`. */
export interface Command {
  readonly name: string;
  /** One line for the command list. */
  readonly summary: string;
  /** The usage line after `idemkit `, such as `get KEY [options]`. */
  readonly usage: string;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Names of positional arguments, in order; all required. */
  readonly positionals?: readonly string[];
  /** Extra paragraphs for `--help`: examples, notes. */
  readonly details?: string;
  /** Runs the command; resolves to the exit code. */
  run(args: ParsedArgs): Promise<number>;
}

const HELP_FLAG: FlagSpec = {
  type: "boolean",
  short: "h",
  description: "Show this help",
};

/**
 * Parses `argv` for `command`. Unknown flags, missing values and a wrong
 * number of positionals throw {@link CliUsageError}.
 *
 * @example
 * ```ts
 * const args = parseCommandArgs(inspectCommand, ["--limit", "5"], process.env);
 * if (args !== "help") await inspectCommand.run(args);
 * ```
 */
export function parseCommandArgs(
  command: Command,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): ParsedArgs | "help" {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [name, spec] of Object.entries({ ...command.flags, help: HELP_FLAG })) {
    options[name] = spec.short
      ? { type: spec.type, short: spec.short }
      : { type: spec.type };
  }

  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options,
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new CliUsageError(
      `${cleanParseError(error)} (see: idemkit ${command.name} --help)`,
    );
  }
  if (parsed.values.help === true) return "help";

  const expected = command.positionals ?? [];
  if (parsed.positionals.length !== expected.length) {
    const what =
      parsed.positionals.length < expected.length
        ? `missing ${expected.slice(parsed.positionals.length).join(", ")}`
        : `unexpected argument "${parsed.positionals[expected.length]}"`;
    throw new CliUsageError(
      `${command.name}: ${what} (see: idemkit ${command.name} --help)`,
    );
  }

  const strings: Record<string, string | undefined> = {};
  const booleans: Record<string, boolean> = {};
  for (const [name, spec] of Object.entries(command.flags)) {
    const given = parsed.values[name];
    const fromEnv = spec.env === undefined ? undefined : env[spec.env];
    if (spec.type === "boolean") {
      booleans[name] = given === true || (given === undefined && isTruthy(fromEnv));
    } else {
      const value = typeof given === "string" ? given : fromEnv || spec.default;
      strings[name] = value;
    }
  }
  return { strings, booleans, positionals: parsed.positionals };
}

function isTruthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs appends advice about "--" that does not fit a short line.
  return message.split(". To specify")[0]!.split("\n")[0]!.replace(/\.$/, "");
}

/** The `--help` text of one command. */
export function commandHelp(command: Command): string {
  const rows = Object.entries({ ...command.flags, help: HELP_FLAG }).map(
    ([name, spec]) => {
      const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.value ? ` ${spec.value}` : ""}`;
      const notes = [
        spec.env ? `env ${spec.env}` : "",
        spec.default !== undefined ? `default ${spec.default}` : "",
      ].filter(Boolean);
      return [flag, `${spec.description}${notes.length ? ` (${notes.join(", ")})` : ""}`];
    },
  );
  const width = Math.max(...rows.map(([flag]) => flag!.length));
  const lines = [
    `Usage: idemkit ${command.usage}`,
    "",
    command.summary,
    "",
    "Options:",
    ...rows.map(([flag, text]) => `  ${flag!.padEnd(width)}  ${text}`),
  ];
  if (command.details) lines.push("", command.details.trimEnd());
  return `${lines.join("\n")}\n`;
}

/** Parses a positive whole number flag. */
export function parsePositiveInt(
  value: string | undefined,
  flag: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new CliUsageError(
      `--${flag} must be a whole number of at least 1, got "${value}"`,
    );
  }
  return n;
}
