import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, runCli } from "./run-cli.js";

const COMMANDS = ["proxy", "inspect", "get", "delete", "stats", "sweep", "demo"];

describe("idemkit --help and --version", () => {
  it("lists every command and exits 0", async () => {
    const result = await runCli(["--help"]);

    expect(result.code).toBe(0);
    for (const name of COMMANDS)
      expect(result.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it("prints each command's usage, options and their environment variables", async () => {
    const results = await Promise.all(COMMANDS.map((name) => runCli([name, "--help"])));

    results.forEach((result, i) => {
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: idemkit ${COMMANDS[i]}`));
      expect(result.stdout).toContain("--help");
    });
    expect(results[0]!.stdout).toContain("env IDEMKIT_UPSTREAM");
    expect(results[1]!.stdout).toContain("env IDEMKIT_STORE");
  });

  it("prints the package version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
      version: string;
    };

    const result = await runCli(["--version"]);

    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(pkg.version);
  });
});
