import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Idempotency, MemoryStore } from "../../src/index.js";
import { SqliteStore } from "../../src/stores/sqlite/index.js";
import { threeSteps } from "../core/fixtures/three-steps.js";

const dir = mkdtempSync(join(tmpdir(), "idemkit-steps-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("recovery steps on SQLite after a crash", () => {
  it("runs only step 3 after a worker is killed after step 2, with a crash-free result", async () => {
    const path = join(dir, "steps.db");
    const log = join(dir, "steps.log");
    writeFileSync(log, "");
    const worker = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        join(import.meta.dirname, "..", "core", "fixtures", "steps-worker.ts"),
        path,
        log,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      worker.stdout.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("after-step-2")) resolve();
      });
      worker.on("exit", () => reject(new Error("the worker exited before step 2")));
    });
    worker.kill("SIGKILL");
    await new Promise((resolve) => worker.once("exit", resolve));
    await new Promise((resolve) => setTimeout(resolve, 400)); // one lease

    const store = new SqliteStore({ path });
    const ranAfter: string[] = [];
    let attempt = 0;
    const result = await new Idempotency({ store }).run("order-1", async (ctx) => {
      attempt = ctx.attempt;
      return threeSteps((name) => ranAfter.push(name))(ctx);
    });
    const crashFree = await new Idempotency({ store: new MemoryStore() }).run(
      "order-1",
      threeSteps(() => {}),
    );
    await store.close();

    expect(readFileSync(log, "utf8").trim().split("\n")).toEqual(["reserve", "charge"]);
    expect(ranAfter).toEqual(["ship"]);
    expect(attempt).toBe(2);
    expect(result).toEqual(crashFree);
  });
});
