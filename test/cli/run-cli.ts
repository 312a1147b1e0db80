/**
 * Runs the real `idemkit` CLI in a child process. By default the built
 * `dist/cli/main.js` (what `npm test` builds first); `IDEMKIT_CLI_FROM=src`
 * runs `src/cli/main.ts` through tsx instead, for development.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DIST_MAIN = join(ROOT, "dist", "cli", "main.js");

/** The command line that starts the CLI. */
export function cliCommand(): string[] {
  const fromSrc = process.env.IDEMKIT_CLI_FROM === "src" || !existsSync(DIST_MAIN);
  return fromSrc
    ? [process.execPath, "--import", "tsx", join(ROOT, "src", "cli", "main.ts")]
    : [process.execPath, DIST_MAIN];
}

/** What a finished CLI run printed, and its exit code. */
export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

// Everything each child printed, from its start.
const output = new WeakMap<
  ChildProcess,
  { stdout: string; stderr: string; closed: boolean; code: number | null }
>();

// A test that fails before it stops its proxy must not leave it running.
const started = new Set<ChildProcess>();
afterAll(() => {
  for (const child of started) child.kill("SIGKILL");
});

/** Starts the CLI with `args`; the caller owns the child. */
export function startCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const [command, ...prefix] = cliCommand();
  const child = spawn(command!, [...prefix, ...args], {
    cwd: ROOT,
    env: { ...process.env, IDEMKIT_STORE: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.add(child);
  child.once("exit", () => started.delete(child));
  const seen = { stdout: "", stderr: "", closed: false, code: null as number | null };
  output.set(child, seen);
  child.on("close", (code) => {
    seen.closed = true;
    seen.code = code;
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    seen.stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    seen.stderr += chunk.toString();
  });
  return child;
}

/** Runs the CLI to its end, at most `timeoutMs`. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 20_000,
): Promise<CliResult> {
  const child = startCli(args, env);
  return finished(child, timeoutMs);
}

/** Waits for a child started by {@link startCli} to exit; returns all it printed. */
export function finished(child: ChildProcess, timeoutMs = 20_000): Promise<CliResult> {
  const seen = output.get(child)!;
  return new Promise((resolve, reject) => {
    if (seen.closed) {
      resolve({ code: seen.code, stdout: seen.stdout, stderr: seen.stderr });
      return;
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`CLI did not exit in ${timeoutMs} ms; stderr: ${seen.stderr}`));
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: seen.stdout, stderr: seen.stderr });
    });
  });
}

/** Resolves with the first stdout line matching `pattern`. */
export function waitForLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 15_000,
): Promise<RegExpMatchArray> {
  let seen = "";
  let errors = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    errors += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () =>
        reject(
          new Error(
            `no line matching ${pattern} in ${timeoutMs} ms; stdout: ${seen} stderr: ${errors}`,
          ),
        ),
      timeoutMs,
    );
    child.stdout?.on("data", (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(
        new Error(`CLI exited (${code}) before printing ${pattern}; stderr: ${errors}`),
      );
    });
  });
}
