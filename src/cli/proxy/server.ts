/**
 * The proxy's HTTP server. Each request takes one of two paths:
 *
 * - idempotency path: POST/PATCH (by default) carrying an
 *   `Idempotency-Key` (or every such request with `required`): through the
 *   HTTP layer, which claims the key, forwards once and replays after;
 * - pass-through: everything else, streamed both ways untouched.
 *
 * Shutdown stops accepting, lets in-flight requests finish (their records
 * complete, so no lease is left hanging), then resolves.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { sendWebResponse, toWebRequest } from "./bridge.js";
import type { WebHandler } from "./forward.js";
import { sendProblem } from "./problem.js";
import type { Upstream } from "./upstream.js";

/** What the server needs. */
export interface ProxyServerOptions {
  readonly upstream: Upstream;
  /** The forwarding handler wrapped by the HTTP layer. */
  readonly idempotent: WebHandler;
  /** Methods that take the idempotency path. @default POST, PATCH */
  readonly methods?: readonly string[];
  /** Send keyless POST/PATCH through the HTTP layer too (it answers 400). */
  readonly required?: boolean;
  /** Called with a one-line description of an unexpected failure. */
  readonly onError?: (message: string) => void;
}

/** A running proxy. */
export class ProxyServer {
  readonly #server: http.Server;
  readonly #options: ProxyServerOptions;
  readonly #methods: Set<string>;
  readonly #idle = new Set<() => void>();
  #inFlight = 0;
  #closing = false;

  constructor(options: ProxyServerOptions) {
    this.#options = options;
    this.#methods = new Set(
      (options.methods ?? ["POST", "PATCH"]).map((m) => m.toUpperCase()),
    );
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
    const keyed = req.headers["idempotency-key"] !== undefined;
    if (!this.#methods.has(method) || !(keyed || this.#options.required)) {
      this.#options.upstream.passThrough(req, res);
      return;
    }
    this.#idempotent(req, res).catch((error: unknown) => {
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

  async #idempotent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const request = toWebRequest(req, this.#options.upstream.host);
    const response = await this.#options.idempotent(request);
    if (this.#closing) res.setHeader("connection", "close");
    await sendWebResponse(res, response);
  }
}
