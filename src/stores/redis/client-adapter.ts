/**
 * One small interface over the Redis clients users already have: ioredis
 * (a client or a Cluster) and node-redis v4+ (a client or a cluster). The
 * store needs only two things: to send a command about one key (routed to
 * that key's slot on a cluster) and to reach every master for `SCAN`.
 *
 * The client types are structural, so any version with these methods fits
 * and no driver is imported here.
 */
import { IdempotencyConfigError } from "../../core/errors.js";

/**
 * An ioredis `Redis` or `Cluster`: the calls the store makes.
 *
 * @example
 * ```ts
 * import { Cluster } from "ioredis";
 * const client: IoredisLike = new Cluster([{ host: "10.0.0.1", port: 6379 }]);
 * ```
 */
export interface IoredisLike {
  call(command: string, ...args: string[]): Promise<unknown>;
  /** Present on a Cluster: its nodes by role. */
  nodes?: (role: "master") => IoredisLike[];
  readonly isCluster?: boolean;
}

/**
 * A node-redis v4+ client: the calls the store makes.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * const client: NodeRedisClientLike = await createClient().connect();
 * ```
 */
export interface NodeRedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
}

/**
 * A node-redis v4.6+ cluster: the calls the store makes.
 *
 * @example
 * ```ts
 * import { createCluster } from "redis";
 * const client: NodeRedisClusterLike = await createCluster({
 *   rootNodes: [{ url: "redis://10.0.0.1:6379" }],
 * }).connect();
 * ```
 */
export interface NodeRedisClusterLike {
  sendCommand(
    firstKey: string | undefined,
    isReadonly: boolean | undefined,
    args: string[],
  ): Promise<unknown>;
  readonly masters: readonly unknown[];
  nodeClient(node: never): NodeRedisClientLike | Promise<NodeRedisClientLike>;
}

/**
 * Any client `RedisStore` accepts.
 *
 * @example
 * ```ts
 * const store = new RedisStore({ client: new Redis() satisfies RedisClientLike });
 * ```
 */
export type RedisClientLike = IoredisLike | NodeRedisClientLike | NodeRedisClusterLike;

/** Sends one command to one server. */
export type NodeCommand = (args: string[]) => Promise<unknown>;

/** The store's view of a client, whatever the driver. */
export interface RedisConnection {
  /** Sends a command whose only key is `key`, to the node serving it. */
  keyed(key: string, args: string[]): Promise<unknown>;
  /**
   * One sender per master (one for a single server), for `SCAN`, always in
   * the same order (by address): a `list` cursor names a master by its
   * place in this list, and clients do not keep their own node order
   * stable from call to call.
   */
  masters(): Promise<NodeCommand[]>;
}

/** Wraps a user's client; throws `IdempotencyConfigError` for anything else. */
export function connect(client: RedisClientLike): RedisConnection {
  if (client === null || typeof client !== "object") {
    throw new IdempotencyConfigError(
      "RedisStore needs a client: an ioredis or node-redis one",
    );
  }
  if (typeof (client as IoredisLike).call === "function") {
    return ioredisConnection(client as IoredisLike);
  }
  if (isNodeRedisCluster(client)) return nodeRedisClusterConnection(client);
  if (typeof (client as NodeRedisClientLike).sendCommand === "function") {
    const send = (args: string[]) => (client as NodeRedisClientLike).sendCommand(args);
    return { keyed: (_key, args) => send(args), masters: async () => [send] };
  }
  throw new IdempotencyConfigError(
    "RedisStore's client must be an ioredis client or Cluster, or a node-redis v4+ client or cluster",
  );
}

function ioredisConnection(client: IoredisLike): RedisConnection {
  const sender =
    (node: IoredisLike): NodeCommand =>
    ([command, ...rest]) =>
      node.call(command as string, ...rest);

  // ioredis routes `call` by the command's key positions on a Cluster.
  const send = sender(client);
  const cluster = client.isCluster === true && typeof client.nodes === "function";
  return {
    keyed: (_key, args) => send(args),
    masters: async () => {
      if (!cluster) return [send];
      const nodes = client.nodes?.("master") ?? [];
      return byAddress(nodes, ioredisAddress).map(sender);
    },
  };
}

function isNodeRedisCluster(client: object): client is NodeRedisClusterLike {
  const candidate = client as Partial<NodeRedisClusterLike>;
  return (
    typeof candidate.sendCommand === "function" &&
    typeof candidate.nodeClient === "function" &&
    Array.isArray(candidate.masters)
  );
}

function nodeRedisClusterConnection(cluster: NodeRedisClusterLike): RedisConnection {
  return {
    keyed: (key, args) => cluster.sendCommand(key, false, args),
    masters: async () => {
      const masters = byAddress(
        cluster.masters as readonly { readonly address?: string }[],
        (master) => String(master.address),
      );
      const clients = await Promise.all(
        masters.map((master) => cluster.nodeClient(master as never)),
      );
      return clients.map((node) => (args: string[]) => node.sendCommand(args));
    },
  };
}

/** Where an ioredis cluster node listens (a node's own `options`). */
function ioredisAddress(node: IoredisLike): string {
  const { host, port } =
    (node as { options?: { host?: string; port?: number } }).options ?? {};
  return `${host}:${port}`;
}

/** `nodes` sorted by the address `addressOf` gives. */
function byAddress<T>(nodes: readonly T[], addressOf: (node: T) => string): T[] {
  return nodes
    .map((node) => ({ node, address: addressOf(node) }))
    .sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0))
    .map(({ node }) => node);
}
