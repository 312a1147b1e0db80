/**
 * A process that claims one key and never finishes, to be killed with
 * SIGKILL while it holds the lease. Argument: JSON with the Redis url,
 * driver, prefix, counter prefix, key, lease and mode:
 *
 * - "hold": the operation bumps the counter, says "started" and hangs;
 * - "steps": the three-step operation runs two steps, prints their results
 *   as JSON, and hangs before the third.
 */
import { Idempotency } from "../../../../src/index.js";
import { RedisStore } from "../../../../src/stores/redis/index.js";
import { type Driver, openClient } from "../fixtures.js";
import { stepsOperation } from "./steps-operation.js";

interface Job {
  url: string;
  driver: Driver;
  prefix: string;
  counter: string;
  key: string;
  lease: number;
  mode: "hold" | "steps";
}

const job = JSON.parse(process.argv[2] as string) as Job;
const client = await openClient(job.driver, job.url);
const store = new RedisStore({ client: client.client, prefix: job.prefix });
const idem = new Idempotency({ store, lease: job.lease });
const forever = () => new Promise<never>(() => setInterval(() => {}, 60_000));

if (job.mode === "hold") {
  await idem.run(
    job.key,
    async () => {
      await client.command(["INCR", `${job.counter}runs`]);
      process.stdout.write("started\n");
      return forever();
    },
    { name: "take-over" },
  );
} else {
  await idem.run(
    job.key,
    stepsOperation(client.command, job.counter, async (done) => {
      process.stdout.write(`${JSON.stringify(done)}\n`);
      await forever();
    }),
    { name: "steps" },
  );
}
