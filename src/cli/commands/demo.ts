import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "../args.js";
import { EXIT } from "../errors.js";
import { table } from "../format.js";
import { openStore } from "../store-url.js";

const ACCOUNTS = ["alice", "bob", "carol", "dave"] as const;
const START = 10_000;
const EXPECTED_DEBIT: Record<(typeof ACCOUNTS)[number], number> = {
  alice: 1_000,
  bob: 2_000,
  carol: 500,
  dave: 1_500,
};

const money = (cents: number): string => (cents / 100).toFixed(2);

/** `idemkit demo`: the guarantees, shown on a small payments service. */
export const demoCommand: Command = {
  name: "demo",
  summary:
    "Show the guarantees on a small payments service: it starts behind idemkit/http on a free port, the classic failure cases are fired at it, and the balances prove that money moved once. Exits 0 only if every guarantee held.",
  usage: "demo [--store URL]",
  flags: {
    store: {
      type: "string",
      value: "URL",
      description: "Store to use (default: a fresh SQLite file in a temporary folder)",
      env: "IDEMKIT_STORE",
    },
  },
  details: `Cases: a retried charge after a dropped response, 20 concurrent duplicate
charges, a key reused with a different amount, a worker that crashes after
charging and is taken over. Needs no server and no configuration.`,

  async run({ strings }) {
    const [
      { Ledger },
      { PaymentsService },
      { CASES, newRunId },
      { serve },
      { withIdempotency },
    ] = await Promise.all([
      import("../demo/ledger.js"),
      import("../demo/service.js"),
      import("../demo/scenarios.js"),
      import("../demo/server.js"),
      import("../../http/index.js"),
    ]);

    const temp = strings.store ? undefined : mkdtempSync(join(tmpdir(), "idemkit-demo-"));
    const opened = await openStore(strings.store ?? `sqlite:${join(temp!, "demo.db")}`);
    const ledger = new Ledger();
    for (const account of ACCOUNTS) ledger.open(account, START);
    const service = new PaymentsService(ledger);
    const served = await serve(withIdempotency(service.handle, { store: opened.store }));

    try {
      process.stdout.write(
        `idemkit demo: payments service on ${served.base} behind idemkit/http, store ${opened.label}\n\n`,
      );
      const world = {
        base: served.base,
        ledger,
        service,
        store: opened.store,
        run: newRunId(),
      };
      const results = [];
      for (const run of CASES) results.push(await run(world));

      process.stdout.write(
        table(
          ["CASE", "WHAT THE CLIENTS SAW", "HANDLER RUNS", "CHARGES", "HELD"],
          results.map((r) => [
            r.name,
            r.saw,
            String(r.handlerRuns),
            String(r.charges),
            r.held ? "yes" : "NO",
          ]),
        ),
      );

      const balances = ACCOUNTS.map((account) => {
        const expected = START - EXPECTED_DEBIT[account];
        const actual = ledger.balance(account);
        return { account, expected, actual, held: expected === actual };
      });
      process.stdout.write("\n");
      process.stdout.write(
        table(
          ["ACCOUNT", "START", "EXPECTED", "FINAL", "HELD"],
          balances.map((b) => [
            b.account,
            money(START),
            money(b.expected),
            money(b.actual),
            b.held ? "yes" : "NO",
          ]),
        ),
      );

      const broken = [
        ...results.filter((r) => !r.held).map((r) => `${r.name}: expected ${r.expected}`),
        ...balances.filter((b) => !b.held).map((b) => `${b.account}'s balance`),
      ];
      if (broken.length > 0) {
        process.stdout.write(`\nGUARANTEE BROKEN: ${broken.join("; ")}\n`);
        return EXIT.failed;
      }
      process.stdout.write(
        "\nEvery guarantee held: each charge moved money exactly once.\n",
      );
      return EXIT.ok;
    } finally {
      await served.close();
      await opened.close();
      if (temp) rmSync(temp, { recursive: true, force: true });
    }
  },
};
