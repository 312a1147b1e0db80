/**
 * Disposable Redis fixtures: a client of either driver, a fresh random key
 * prefix per use, and a cleanup that removes every key under it.
 */
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { createClient } from "redis";
import { createClient as createClient4 } from "redis4";
import type { RedisClientLike } from "../../../src/stores/redis/client-adapter.js";

export type Driver = "ioredis" | "node-redis" | "node-redis-resp3" | "node-redis-4";
export const DRIVERS: readonly Driver[] = ["ioredis", "node-redis"];

/** A connected client and the calls the tests make besides the store's. */
export interface TestClient {
  readonly client: RedisClientLike;
  /** Sends a raw command (for counters and probes outside the store). */
  command(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** ioredis: give up queued commands after this many reconnects. */
  readonly maxRetriesPerRequest?: number | null;
}

/** Connects a client of `driver` to `url`; errors are swallowed (tests probe them). */
export async function openClient(
  driver: Driver,
  url: string,
  options: ClientOptions = {},
): Promise<TestClient> {
  if (driver === "ioredis") {
    const client = new Redis(url, {
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 20,
      lazyConnect: true,
    });
    client.on("error", () => {});
    await client.connect();
    return {
      client,
      command: ([name, ...args]) => client.call(name as string, ...args),
      close: async () => {
        client.disconnect();
      },
    };
  }

  if (driver === "node-redis-4") {
    // node-redis 4.7 (installed as "redis4"): the oldest major the store's
    // structural client types admit.
    const client = createClient4({ url });
    client.on("error", () => {});
    await client.connect();
    return {
      client,
      command: (args) => client.sendCommand(args),
      close: async () => {
        if (client.isOpen) await client.disconnect();
      },
    };
  }

  const client = createClient({ url, RESP: driver === "node-redis-resp3" ? 3 : 2 });
  client.on("error", () => {});
  await client.connect();
  return {
    client,
    command: (args) => client.sendCommand(args),
    close: async () => {
      if (client.isOpen) client.destroy();
    },
  };
}

/** A prefix no other test file or run uses. */
export function freshPrefix(label: string): string {
  return `idemkit-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** Every key under `prefix` (SCAN, never KEYS). */
export async function keysUnder(client: TestClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const reply = (await client.command([
      "SCAN",
      cursor,
      "MATCH",
      `${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`,
      "COUNT",
      "1000",
    ])) as [string, string[]];
    cursor = String(reply[0]);
    keys.push(...reply[1]);
  } while (cursor !== "0");
  return keys;
}

/** Deletes every key under `prefix`. */
export async function dropPrefix(client: TestClient, prefix: string): Promise<void> {
  const keys = await keysUnder(client, prefix);
  for (let i = 0; i < keys.length; i += 500) {
    await client.command(["DEL", ...keys.slice(i, i + 500)]);
  }
}
