/**
 * The proxy's HTTP server. Each request takes one of two paths:
 *
 * - idempotency path: POST and PATCH go to `gateway.ts`, where the
 *   protocol of `idemkit/http` decides: a request with a key is forwarded
 *   once and replayed after; one without a key (unless required) streams
 *   through like any other;
 * - pass-through: every other method, streamed both ways untouched.
 *
 * Shutdown stops accepting, lets in-flight requests finish (their records
 * complete, so no lease is left hanging), then resolves.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { IdempotencyProtocol } from "../../http/protocol.js";
import { handleIdempotent } from "./gateway.js";
import { sendProblem } from "./problem.js";
import type { Upstream } from "./upstream.js";

/** What the server needs. */
export interface ProxyServerOptions {
  readonly upstream: Upstream;
  /** The protocol from `idemkit/http`, configured with the store. */
  readonly protocol: IdempotencyProtocol;
  /** Called with a one-line description of an unexpected failure. */
  readonly onError?: (message: string) => void;
}

/**
 * The proxy server.
 *
 * @example
 * ```ts
 * const server = new ProxyServer({ upstream, protocol: new IdempotencyProtocol({ store }) });
 * await server.listen("127.0.0.1", 8080);
 * process.once("SIGTERM", () => server.shutdown(30_000));
 * ```
 */
export class ProxyServer {
  readonly #server: http.Server;
  readonly #options: ProxyServerOptions;
  readonly #idle = new Set<() => void>();
  #inFlight = 0;
  #closing = false;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
      this.#handle(req, res);
    });
  }

  /** Requests being served now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Starts listening; resolves with the bound address. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => {
        this.#server.off("error", reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /**
   * Stops accepting connections and waits for in-flight requests, at most
   * `graceMs`; resolves `true` when every request finished in time.
   */
  async shutdown(graceMs: number): Promise<boolean> {
    this.#closing = true;
    this.#server.close();
    this.#server.closeIdleConnections();

    const drained = await new Promise<boolean>((resolve) => {
      if (this.#inFlight === 0) return resolve(true);
      const timer = setTimeout(() => resolve(false), graceMs);
      this.#idle.add(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.#server.closeAllConnections();
    this.#options.upstream.close();
    return drained;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.#inFlight += 1;
    // A connection that served a request during shutdown is not reused.
    if (this.#closing) res.setHeader("connection", "close");
    res.on("close", () => {
      this.#inFlight -= 1;
      if (this.#closing) this.#server.closeIdleConnections();
      if (this.#inFlight === 0) for (const notify of this.#idle) notify();
    });

    const method = (req.method ?? "GET").toUpperCase();
    const { upstream, protocol } = this.#options;
    if (!protocol.settings.methods.has(method)) {
      upstream.passThrough(req, res);
      return;
    }
    if (this.#closing) res.setHeader("connection", "close");
    handleIdempotent(protocol, upstream, req, res).catch((error: unknown) => {
      // The client hung up before its answer was written: nothing to tell.
      if (res.destroyed && !res.writableFinished) return;
      const message = error instanceof Error ? error.message : String(error);
      this.#options.onError?.(`${method} ${req.url}: ${message}`);
      sendProblem(res, {
        status: 500,
        title: "Internal Server Error",
        detail: "The proxy failed",
      });
    });
  }
}
