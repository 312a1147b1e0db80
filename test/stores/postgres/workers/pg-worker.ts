/**
 * A worker process for the multi-process Postgres tests. Run as
 * `node --import tsx pg-worker.ts '<json task>'`; it prints progress lines
 * on stdout that the parent test waits for (and, in the crash tests, kills
 * it after).
 */
import { appendFileSync } from "node:fs";
import pg from "pg";
import { Idempotency } from "../../../../src/core/engine.js";
import { PostgresStore } from "../../../../src/stores/postgres/postgres-store.js";

export type WorkerTask =
  | { mode: "exactly-once"; url: string; schema: string; calls: number; keys: number }
  | { mode: "tx-hang"; url: string; schema: string; key: string }
  | { mode: "transfers"; url: string; schema: string; ids: number[]; concurrency: number }
  | {
      mode: "steps";
      url: string;
      schema: string;
      key: string;
      log: string;
      crashAfter?: string;
    }
  | { mode: "migrate"; url: string; schema: string };

const task = JSON.parse(process.argv[2] ?? "{}") as WorkerTask;
const pool = new pg.Pool({ connectionString: task.url, max: 8 });
const store = new PostgresStore({ pool, schema: task.schema, sweepInterval: false });
const say = (line: string) => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hang = () => new Promise<never>(() => setInterval(() => undefined, 1_000));

async function main(): Promise<void> {
  switch (task.mode) {
    case "exactly-once": {
      const idem = new Idempotency({ store, lease: "10s" });
      say("ready");
      await Promise.all(
        Array.from({ length: task.calls }, (_, i) =>
          idem.run(
            `key-${i % task.keys}`,
            async () => {
              // Counted with autocommit, outside the store, so a second
              // execution anywhere would show.
              await pool.query(
                `UPDATE "${task.schema}".executions SET n = n + 1 WHERE key = $1`,
                [`key-${i % task.keys}`],
              );
              await sleep(30);
              return i % task.keys;
            },
            { name: "exactly-once" },
          ),
        ),
      );
      say("done");
      return;
    }

    case "tx-hang": {
      await store.transaction(
        task.key,
        async (tx) => {
          await tx.query(
            `UPDATE "${task.schema}".accounts SET balance = balance - 10 WHERE id = 'a'`,
          );
          say("written");
          return hang();
        },
        { name: "transfer" },
      );
      return;
    }

    case "transfers": {
      let next = 0;
      const runOne = async (id: number) => {
        const from = `acct-${id % 10}`;
        const to = `acct-${(id * 7 + 3) % 10}`;
        await store.transaction(
          `transfer-${id}`,
          async (tx) => {
            const amount = 1 + (id % 5);
            // Lock both rows in id order, as any transfer code must, so
            // concurrent transfers cannot deadlock.
            await tx.query(
              `SELECT id FROM "${task.schema}".accounts WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`,
              [from, to],
            );
            await tx.query(
              `UPDATE "${task.schema}".accounts SET balance = balance - $1 WHERE id = $2`,
              [amount, from],
            );
            await tx.query(
              `UPDATE "${task.schema}".accounts SET balance = balance + $1 WHERE id = $2`,
              [amount, to],
            );
            await tx.query(
              `INSERT INTO "${task.schema}".ledger (transfer_id) VALUES ($1)`,
              [id],
            );
            return { id, amount };
          },
          { name: "transfer", payload: { id } },
        );
        say(`ok ${id}`);
      };
      await Promise.all(
        Array.from({ length: task.concurrency }, async () => {
          while (next < task.ids.length) {
            const id = task.ids[next++] as number;
            await runOne(id);
          }
        }),
      );
      say("done");
      return;
    }

    case "steps": {
      const idem = new Idempotency({ store, lease: "600ms" });
      const result = await idem.run(
        task.key,
        async (ctx) => {
          const record = (name: string) =>
            appendFileSync(task.log, `${name} ${ctx.attempt}\n`);
          const a = await ctx.step("reserve", () => {
            record("reserve");
            return { reserved: 3 };
          });
          const b = await ctx.step("charge", () => {
            record("charge");
            return { charged: a.reserved * 100 };
          });
          if (task.crashAfter === "charge") {
            say("after-charge");
            return hang();
          }
          const c = await ctx.step("ship", () => {
            record("ship");
            return { shipped: true, total: b.charged };
          });
          return { a, b, c };
        },
        { name: "order" },
      );
      say(`result ${JSON.stringify(result)}`);
      return;
    }

    case "migrate": {
      const applied = await store.migrate();
      say(`applied ${JSON.stringify(applied)}`);
      return;
    }
  }
}

main()
  .then(async () => {
    await store.close();
    await pool.end();
  })
  .catch((error: unknown) => {
    process.stderr.write(`worker failed: ${String(error)}\n`);
    process.exit(1);
  });
