/**
 * Redis and Postgres store URLs: the CLI creates the client, checks that
 * the server answers before anything else happens, and closes the client
 * with the store (the stores never close a client they were given).
 */
import { CliUsageError, describeError } from "./errors.js";
import { importDriverModule, type OpenedStore } from "./store-url.js";

const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Splits the `prefix` query parameter off a store URL: it names the key
 * prefix (Redis) or is ignored by the driver otherwise.
 */
function takeParam(
  url: string,
  name: string,
): { url: string; value: string | undefined } {
  const parsed = new URL(url);
  const value = parsed.searchParams.get(name) ?? undefined;
  parsed.searchParams.delete(name);
  return { url: parsed.toString(), value };
}

function parseUrl(url: string, label: string): void {
  try {
    new URL(url);
  } catch {
    throw new CliUsageError(`The store URL "${label}" is not a valid URL`);
  }
}

/** `redis://[:PASSWORD@]HOST:PORT[/DB][?prefix=P]` over an ioredis client. */
export async function openRedis(url: string, label: string): Promise<OpenedStore> {
  parseUrl(url, label);
  const { url: clientUrl, value: prefix } = takeParam(url, "prefix");
  const { Redis } = await importDriverModule(() => import("ioredis"), "redis", "ioredis");
  const { RedisStore } = await importDriverModule(
    () => import("../stores/redis/index.js"),
    "redis",
    "ioredis",
  );

  let connected = false;
  const client = new Redis(clientUrl, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 2,
    // No retries before the first connection: an unreachable server is a
    // configuration error to report at once. After it, reconnect as usual.
    retryStrategy: (times: number) => (connected ? Math.min(times * 100, 2_000) : null),
  });
  let lastError: unknown;
  // Without a listener ioredis prints every reconnect error itself.
  client.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
    connected = true;
  } catch (error) {
    client.disconnect();
    throw new CliUsageError(
      `Cannot reach ${label}: ${describeError(lastError ?? error)}`,
    );
  }

  const store = new RedisStore({ client, prefix });
  return {
    store,
    label,
    async close() {
      await store.close();
      await client.quit().catch(() => client.disconnect());
    },
  };
}

/**
 * `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?schema=S&table=T]` over a
 * `pg` pool; the store's migration runs before first use (it is
 * idempotent, so every proxy process may run it).
 */
export async function openPostgres(url: string, label: string): Promise<OpenedStore> {
  parseUrl(url, label);
  const { url: withoutTable, value: table } = takeParam(url, "table");
  const { url: connectionString, value: schema } = takeParam(withoutTable, "schema");
  const pg = await importDriverModule(() => import("pg"), "postgres", "pg");
  const { PostgresStore } = await importDriverModule(
    () => import("../stores/postgres/index.js"),
    "postgres",
    "pg",
  );

  const pool = new pg.default.Pool({
    connectionString,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    max: 10,
  });
  // An idle connection dropped by the server must not crash the proxy; the
  // next query reconnects.
  pool.on("error", () => {});
  let store: InstanceType<typeof PostgresStore> | undefined;
  try {
    await pool.query("SELECT 1");
    store = new PostgresStore({ pool, table, schema });
    await store.migrate();
  } catch (error) {
    await store?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw new CliUsageError(`Cannot reach ${label}: ${describeError(error)}`);
  }

  const opened = store;
  return {
    store: opened,
    label,
    async close() {
      await opened.close();
      await pool.end();
    },
  };
}
