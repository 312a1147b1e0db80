import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = join(import.meta.dirname, "..", "..");

describe("examples", () => {
  it.each(["payments", "orders"])(
    "%s runs and every guarantee it checks holds",
    async (name) => {
      const { stdout } = await run(
        process.execPath,
        ["--import", "tsx", join(root, "examples", name, "main.ts")],
        {
          cwd: root,
          timeout: 60_000,
        },
      );

      expect(stdout).toContain("✔");
      expect(stdout).not.toContain("✘");
    },
  );
});
