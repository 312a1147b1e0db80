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

  const client = new Redis(clientUrl, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 2,
  });
  let lastError: unknown;
  // Without a listener ioredis prints every reconnect error itself.
  client.on("error", (error: unknown) => {
    lastError = error;
  });
  try {
    await client.connect();
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

export async function openPostgres(_url: string, label: string): Promise<OpenedStore> {
  throw new CliUsageError(`The postgres store is not available in this build (${label})`);
}
