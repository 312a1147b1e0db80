/**
 * Starts `pg-worker.ts` in a separate Node.js process (with tsx) and
 * follows its stdout line by line.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { WorkerTask } from "./pg-worker.js";

const WORKER = fileURLToPath(new URL("./pg-worker.ts", import.meta.url));

export interface Worker {
  readonly child: ChildProcess;
  readonly lines: string[];
  /** Everything the worker wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the first line matching `pattern`; rejects if the worker exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or signal name) once the process has ended. */
  readonly exited: Promise<number | string>;
  kill(): Promise<void>;
}

export function startWorker(task: WorkerTask): Worker {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", WORKER, JSON.stringify(task)],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let buffer = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split("\n");
    buffer = parts.pop() ?? "";
    lines.push(...parts);
    for (const wake of waiters) wake();
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on("exit", (code, signal) => {
      for (const wake of waiters) wake();
      resolve(code ?? signal ?? "unknown");
    });
  });

  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `worker did not print ${pattern} in ${timeoutMs} ms; stderr: ${stderr}`,
            ),
          );
        }, timeoutMs);
        const check = () => {
          const hit = lines.find((line) => pattern.test(line));
          if (hit !== undefined) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`worker exited before ${pattern}; stderr: ${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
