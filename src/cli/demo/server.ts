/**
 * Serves a Web handler on Node's HTTP server, on 127.0.0.1 and a free port.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { sendWebResponse, toWebRequest } from "../proxy/bridge.js";

/** A running server. */
export interface Served {
  readonly base: string;
  close(): Promise<void>;
}

/**
 * Starts serving `handler`; a client that hangs up is simply let go.
 *
 * @example
 * ```ts
 * const served = await serve(withIdempotency(service.handle, { store }));
 * await fetch(`${served.base}/charges`, { method: "POST", body: "{}" });
 * await served.close();
 * ```
 */
export async function serve(
  handler: (request: Request) => Promise<Response>,
): Promise<Served> {
  const server = http.createServer((req, res) => {
    const request = toWebRequest(req, req.headers.host ?? "localhost");
    handler(request)
      .then((response) => sendWebResponse(res, response))
      .catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
