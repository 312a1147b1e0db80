/**
 * Store URLs → stores. Each store's module (and so its driver) is loaded
 * with a dynamic `import()` only when its URL is used, so `idemkit inspect
 * --store memory:` starts without better-sqlite3, ioredis or pg installed.
 *
 * | URL | store |
 * | --- | --- |
 * | `memory:` | `MemoryStore` (this process only) |
 * | `sqlite:PATH` | `SqliteStore` on the file PATH (default `sqlite:./idemkit.db`) |
 * | `redis://…`, `rediss://…` | `RedisStore` over an ioredis client |
 * | `postgres://…`, `postgresql://…` | `PostgresStore` over a pg pool, migrated |
 */
import type { IdempotencyStore } from "../stores/contract.js";
import { CliUsageError, describeError } from "./errors.js";
import { openPostgres, openRedis } from "./remote-stores.js";

/** The store URL used when neither `--store` nor `IDEMKIT_STORE` is set. */
export const DEFAULT_STORE_URL = "sqlite:./idemkit.db";

/** A store opened from a URL, with what it takes to close it. */
export interface OpenedStore {
  readonly store: IdempotencyStore;
  /** The URL without its password, for messages. */
  readonly label: string;
  /** Closes the store and the client the CLI created for it. */
  close(): Promise<void>;
}

/**
 * Opens the store a URL names, and checks it can be reached. Every failure
 * is a {@link CliUsageError} with a one-line message.
 *
 * @example
 * ```ts
 * const opened = await openStore("redis://127.0.0.1:6379?prefix=api:");
 * const stats = await opened.store.stats();
 * await opened.close();
 * ```
 */
export async function openStore(url: string): Promise<OpenedStore> {
  const label = redact(url);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();

  switch (scheme) {
    case "memory":
      return openMemory(url, label);
    case "sqlite":
      return openSqlite(url, label);
    case "redis":
    case "rediss":
      return openRedis(url, label);
    case "postgres":
    case "postgresql":
      return openPostgres(url, label);
    default:
      throw new CliUsageError(
        `Unknown store URL "${label}": use memory:, sqlite:PATH, redis://HOST:PORT or postgres://USER@HOST/DB`,
      );
  }
}

async function openMemory(url: string, label: string): Promise<OpenedStore> {
  if (url.toLowerCase() !== "memory:") {
    throw new CliUsageError(
      `The memory store takes no path: use "memory:", got "${label}"`,
    );
  }
  const { MemoryStore } = await import("../stores/memory/memory-store.js");
  const store = new MemoryStore();
  return { store, label, close: () => store.close() };
}

/** `sqlite:PATH`, `sqlite://PATH` or `sqlite:///ABSOLUTE/PATH`. */
export function sqlitePath(url: string): string {
  let path = url.slice("sqlite:".length);
  if (path.startsWith("//")) path = path.slice(2);
  return path;
}

async function openSqlite(url: string, label: string): Promise<OpenedStore> {
  const path = sqlitePath(url);
  if (path === "") {
    throw new CliUsageError(`The sqlite store needs a file: use "sqlite:./idemkit.db"`);
  }
  const module = await importDriverModule(
    () => import("../stores/sqlite/index.js"),
    "sqlite",
    "better-sqlite3",
  );
  try {
    const store = new module.SqliteStore({ path });
    return { store, label, close: () => store.close() };
  } catch (error) {
    throw new CliUsageError(`Cannot open ${label}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/**
 * Imports a store module, turning a missing driver into a one-line hint.
 * @internal
 */
export async function importDriverModule<M>(
  load: () => Promise<M>,
  store: string,
  driver: string,
): Promise<M> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_MODULE_NOT_FOUND" && describeError(error).includes(driver)) {
      throw new CliUsageError(
        `The ${store} store needs the "${driver}" package: npm install ${driver}`,
      );
    }
    throw new CliUsageError(`Cannot load the ${store} store: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** The URL with any password replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");
}
