/**
 * The client adapter without a server: fake clients record which node a
 * command reached.
 */
import { describe, expect, it } from "vitest";
import {
  connect,
  type IoredisLike,
  type NodeRedisClusterLike,
} from "../../../src/stores/redis/client-adapter.js";

describe("RedisStore client adapter", () => {
  it("lists an ioredis cluster's masters in one order, whatever order the client gives", async () => {
    const node = (port: number) =>
      ({ options: { host: "127.0.0.1", port }, call: async () => port }) as IoredisLike;
    const nodes = [node(7002), node(7000), node(7001)];
    let turn = 0;
    const client: IoredisLike = {
      isCluster: true,
      call: async () => undefined,
      // A client whose node list comes back rotated on every call.
      nodes: () => {
        turn++;
        return [...nodes.slice(turn % 3), ...nodes.slice(0, turn % 3)];
      },
    };
    const connection = connect(client);

    const first = await connection.masters();
    const second = await connection.masters();

    const ports = async (senders: typeof first) =>
      Promise.all(senders.map((send) => send(["PING"])));
    expect(await ports(first)).toEqual([7000, 7001, 7002]);
    expect(await ports(second)).toEqual([7000, 7001, 7002]);
  });

  it("lists a node-redis cluster's masters in one order, whatever order the client gives", async () => {
    const masters = [{ address: "127.0.0.1:7001" }, { address: "127.0.0.1:7000" }];
    const cluster: NodeRedisClusterLike = {
      masters,
      sendCommand: async () => undefined,
      nodeClient: ((master: { address: string }) => ({
        sendCommand: async () => master.address,
      })) as never,
    };
    const connection = connect(cluster);

    const before = await connection.masters();
    masters.reverse();
    const after = await connection.masters();

    const addresses = async (senders: typeof before) =>
      Promise.all(senders.map((send) => send(["PING"])));
    expect(await addresses(before)).toEqual(["127.0.0.1:7000", "127.0.0.1:7001"]);
    expect(await addresses(after)).toEqual(["127.0.0.1:7000", "127.0.0.1:7001"]);
  });
});
