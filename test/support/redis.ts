/**
 * A Redis for the tests. `redisForTests()` finds one in this order:
 *
 * 1. `IDEMKIT_TEST_REDIS_URL`, when set;
 * 2. 127.0.0.1:6379;
 * 3. a `redis-server` of its own, started from the machine's binary on a
 *    free port (no persistence), and stopped when the test process exits.
 *
 * When none of these works, it records a loud skip (`reportSkip`) and
 * returns a reason; test files pass it to `describe.skipIf`.
 *
 * `startRedisServer()` starts a throwaway server for tests that stop and
 * restart Redis on purpose; the machine's shared Redis is never touched.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer, Socket } from "node:net";
import { reportSkip } from "./skips.js";

/** Where the tests' Redis is, or why there is none. */
export interface TestRedis {
  readonly url: string | undefined;
  /** Set when there is no Redis: the suites skip with this reason. */
  readonly skip: string | undefined;
}

/** A `redis-server` this process started. */
export interface OwnedRedisServer {
  readonly port: number;
  readonly url: string;
  /** True while the process runs. */
  readonly running: boolean;
  /** Stops the server (SIGKILL by default) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

const owned = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of owned) child.kill("SIGKILL");
});

/** True when a Redis answers `PING` at `url` within `timeoutMs`. */
export function pingRedis(url: string, timeoutMs = 500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.on("data", (data) => done(data.toString().startsWith("+PONG")));
    socket.connect(Number(port || 6379), hostname || "127.0.0.1", () => {
      socket.write("PING\r\n");
    });
  });
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts `redis-server` on a free port of 127.0.0.1, without persistence.
 * Rejects when the binary is missing or the server does not answer.
 */
export async function startRedisServer(
  extraArgs: string[] = [],
): Promise<OwnedRedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        ...extraArgs,
      ],
      { stdio: "ignore" },
    );
    owned.add(proc);
    proc.once("exit", () => owned.delete(proc));
    const failed = new Promise<Error>((resolve) => proc.once("error", resolve));
    child = proc;
    for (let i = 0; i < 100; i++) {
      const outcome = await Promise.race([
        failed,
        new Promise<undefined>((resolve) => setTimeout(resolve, 50)),
      ]);
      if (outcome instanceof Error) throw outcome;
      if (proc.exitCode !== null)
        throw new Error(`redis-server exited (${proc.exitCode})`);
      if (await pingRedis(url, 200)) return;
    }
    proc.kill("SIGKILL");
    throw new Error(`redis-server did not answer on port ${port}`);
  };

  const stop = async (signal: NodeJS.Signals = "SIGKILL"): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    stop,
    restart: launch,
  };
}

let found: Promise<TestRedis> | undefined;

/**
 * The Redis the tests of this process use (found once per process), or a
 * loud skip. `candidates` replaces the env/default lookup, for the test of
 * this helper itself.
 */
export function redisForTests(what = "Redis store tests"): Promise<TestRedis> {
  found ??= locate(what, defaultCandidates());
  return found;
}

/** The lookup behind {@link redisForTests}, with explicit candidates. */
export async function locate(
  what: string,
  candidates: readonly string[],
  start: () => Promise<OwnedRedisServer> = () => startRedisServer(),
  report: (what: string, why: string) => void = reportSkip,
): Promise<TestRedis & { server?: OwnedRedisServer }> {
  for (const url of candidates) {
    if (await pingRedis(url)) return { url, skip: undefined };
  }
  try {
    const server = await start();
    return { url: server.url, skip: undefined, server };
  } catch (error) {
    const why = `no Redis at ${candidates.join(", ")} and none could be started (${String(error)})`;
    report(what, why);
    return { url: undefined, skip: why };
  }
}

function defaultCandidates(): string[] {
  const fromEnv = process.env.IDEMKIT_TEST_REDIS_URL;
  return fromEnv ? [fromEnv] : ["redis://127.0.0.1:6379"];
}
