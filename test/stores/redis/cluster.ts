/**
 * A throwaway three-master Redis Cluster on free ports of 127.0.0.1, made
 * from the machine's `redis-server` and `redis-cli`, for the Cluster tests.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  freePort,
  type OwnedRedisServer,
  startRedisServer,
} from "../../support/redis.js";

const run = promisify(execFile);

export interface TestCluster {
  readonly ports: readonly number[];
  stop(): Promise<void>;
}

export async function startCluster(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "idemkit-cluster-"));
  const servers: OwnedRedisServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.stop()));
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < 3; i++) {
      const busPort = await freePort();
      servers.push(
        await startRedisServer([
          "--cluster-enabled",
          "yes",
          "--cluster-port",
          String(busPort),
          "--cluster-config-file",
          join(dir, `nodes-${i}.conf`),
          "--dir",
          dir,
        ]),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-yes"], {
      timeout: 20_000,
    });
    for (let i = 0; i < 100; i++) {
      const states = await Promise.all(
        servers.map((server) =>
          run("redis-cli", ["-p", String(server.port), "cluster", "info"]).then((r) =>
            r.stdout.includes("cluster_state:ok"),
          ),
        ),
      );
      if (states.every(Boolean)) return { ports: servers.map((s) => s.port), stop };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error("the cluster did not reach state ok");
  } catch (error) {
    await stop();
    throw error;
  }
}
