/**
 * The Lua scripts of the Redis store, read once from `lua/` next to this
 * module and run by SHA: `EVALSHA` first, and on `NOSCRIPT` (a restarted
 * server, a failover, a new cluster node) `EVAL`, which caches the script on
 * that node for the next call. No `SCRIPT LOAD` is needed, so a cluster
 * node that joins later works the same way.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";

/** The scripts, by name. */
export const SCRIPT_NAMES = [
  "claim",
  "complete",
  "fail",
  "extend",
  "save-step",
  "delete",
] as const;

/** One of {@link SCRIPT_NAMES}. */
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** A script's source and SHA-1. */
export interface Script {
  readonly name: ScriptName;
  readonly source: string;
  readonly sha: string;
}

let loaded: ReadonlyMap<ScriptName, Script> | undefined;

/** Every script, read from disk on first use. */
export function scripts(): ReadonlyMap<ScriptName, Script> {
  if (loaded === undefined) {
    loaded = new Map(
      SCRIPT_NAMES.map((name) => {
        const source = readFileSync(
          new URL(`./lua/${name}.lua`, import.meta.url),
          "utf8",
        );
        const sha = createHash("sha1").update(source).digest("hex");
        return [name, { name, source, sha }];
      }),
    );
  }
  return loaded;
}

/**
 * Runs `script` on `key` through `send`. Only a `NOSCRIPT` reply leads to
 * the `EVAL` fallback; every other error is the caller's to report.
 */
export async function runScript(
  send: (args: string[]) => Promise<unknown>,
  script: Script,
  key: string,
  args: string[],
): Promise<unknown> {
  try {
    return await send(["EVALSHA", script.sha, "1", key, ...args]);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return send(["EVAL", script.source, "1", key, ...args]);
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith("NOSCRIPT");
}
