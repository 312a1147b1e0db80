/**
 * Redis and Postgres store URLs: the CLI creates the client, checks that
 * the server answers, and closes the client with the store.
 */
import { CliUsageError } from "./errors.js";
import type { OpenedStore } from "./store-url.js";

export async function openRedis(_url: string, label: string): Promise<OpenedStore> {
  throw new CliUsageError(`The redis store is not available in this build (${label})`);
}

export async function openPostgres(_url: string, label: string): Promise<OpenedStore> {
  throw new CliUsageError(`The postgres store is not available in this build (${label})`);
}
