import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reportSkip } from "../support/skips.js";
import { type CliResult, ROOT, runCli } from "./run-cli.js";

const BUILT = existsSync(join(ROOT, "dist", "cli", "main.js"));
if (!BUILT) {
  reportSkip("CLI demo through npx", "dist/ is not built (npm test builds it first)");
}

/** `npx idemkit demo` in the repository, as a user would type it. */
function npxDemo(): Promise<CliResult> {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("IDEMKIT_")) delete env[name];
  const child = spawn("npx", ["--no-install", "idemkit", "demo"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function expectEveryGuarantee(result: CliResult): void {
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(
    /^CASE\s+WHAT THE CLIENTS SAW\s+HANDLER RUNS\s+CHARGES\s+HELD$/m,
  );
  for (const name of [
    "retried charge after a dropped response",
    "20 concurrent duplicate charges",
    "key reused with a different amount",
    "crashed worker taken over",
  ]) {
    expect(result.stdout).toMatch(new RegExp(`^${name}\\s.*\\syes$`, "m"));
  }
  expect(result.stdout).toMatch(/^dave\s+100\.00\s+85\.00\s+85\.00\s+yes$/m);
  expect(result.stdout).toContain("Every guarantee held");
  expect(result.stdout).toMatch(/store sqlite:/);
}

describe("idemkit demo", () => {
  it.skipIf(!BUILT)(
    "runs as `npx idemkit demo` with no server and no configuration, and exits 0",
    async () => {
      const result = await npxDemo();

      expectEveryGuarantee(result);
    },
    60_000,
  );

  it("runs on the memory store too", async () => {
    const result = await runCli(["demo", "--store", "memory:"], {}, 40_000);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Every guarantee held");
  });

  it("takes its store from IDEMKIT_STORE when --store is not given, as every command does", async () => {
    const [result, help] = await Promise.all([
      runCli(["demo"], { IDEMKIT_STORE: "memory:" }, 40_000),
      runCli(["demo", "--help"]),
    ]);

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split("\n")[0]).toMatch(/, store memory:$/);
    expect(result.stdout).toContain("Every guarantee held");
    expect(help.stdout).toMatch(/--store URL .*\(env IDEMKIT_STORE\)/);
  });

  it("default run leaves no database file behind in the working directory", async () => {
    const result = await runCli(["demo"], {}, 40_000);

    expectEveryGuarantee(result);
    expect(existsSync(join(ROOT, "idemkit.db"))).toBe(false);
  });
});
