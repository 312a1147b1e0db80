/**
 * A small upstream for proxy tests: counts POSTs, echoes what it received,
 * and can hold POSTs open until told to answer.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  /** POSTs (and PATCHes) that reached the upstream. */
  posts: number;
  /** Resolves when the next request's first body bytes arrive. */
  firstBytes(): Promise<void>;
  /** Makes every POST wait this long before answering. */
  delayMs: number;
  close(): Promise<void>;
}

export async function startUpstream(port = 0): Promise<TestUpstream> {
  let notify: (() => void) | undefined;
  const state = {
    posts: 0,
    delayMs: 0,
  };
  const server = http.createServer((req, res) => {
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      if (size === 0) notify?.();
      size += chunk.length;
    });
    req.on("end", () => {
      const big = /^\/big\?bytes=(\d+)$/.exec(req.url ?? "");
      if (big) {
        // A body larger than one chunk, written in 64 KiB pieces.
        if (req.method === "POST") state.posts += 1;
        res.writeHead(201, { "content-type": "application/octet-stream" });
        let left = Number(big[1]);
        while (left > 0) {
          const piece = Math.min(left, 65_536);
          res.write(Buffer.alloc(piece, 120));
          left -= piece;
        }
        res.end();
        return;
      }
      const write = (): void => {
        if (req.method === "POST" || req.method === "PATCH") state.posts += 1;
        const body = JSON.stringify({
          posts: state.posts,
          size,
          method: req.method,
          url: req.url,
          forwardedFor: req.headers["x-forwarded-for"] ?? null,
          forwardedHost: req.headers["x-forwarded-host"] ?? null,
          forwardedProto: req.headers["x-forwarded-proto"] ?? null,
        });
        res.writeHead(req.method === "POST" ? 201 : 200, {
          "content-type": "application/json",
          "x-upstream": "yes",
        });
        res.end(body);
      };
      if (req.method === "POST" && state.delayMs > 0) setTimeout(write, state.delayMs);
      else write();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const bound = (server.address() as AddressInfo).port;

  return Object.assign(state, {
    url: `http://127.0.0.1:${bound}`,
    port: bound,
    firstBytes: () =>
      new Promise<void>((resolve) => {
        notify = resolve;
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}
