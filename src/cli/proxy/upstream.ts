/**
 * The connection to the upstream service: a keep-alive agent, the
 * streaming pass-through, and a buffered-request variant for the
 * idempotency path (whose request body the HTTP layer has already read).
 */
import http, {
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from "node:http";
import https from "node:https";
import { CliUsageError } from "../errors.js";
import { endToEnd, upstreamHeaders } from "./headers.js";
import { badGateway, sendProblem } from "./problem.js";

/** The upstream's status, end-to-end headers and streamed body. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: IncomingMessage;
}

/** A request for the upstream, with its body already in memory. */
export interface BufferedRequest {
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly path: string;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Uint8Array | undefined;
}

/**
 * One upstream service behind the proxy.
 *
 * @example
 * ```ts
 * const upstream = new Upstream("http://127.0.0.1:3000");
 * http.createServer((req, res) => upstream.passThrough(req, res)).listen(8080);
 * ```
 */
export class Upstream {
  readonly url: URL;
  readonly #agent: http.Agent;
  readonly #module: typeof http | typeof https;
  readonly #basePath: string;

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CliUsageError(
        `--upstream must be a URL such as http://127.0.0.1:3000, got "${url}"`,
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      throw new CliUsageError(
        `--upstream must be an http:// or https:// URL, got "${url}"`,
      );
    }
    this.url = parsed;
    this.#module = parsed.protocol === "https:" ? https : http;
    this.#agent = new this.#module.Agent({
      keepAlive: true,
      maxSockets: 256,
      noDelay: true,
    });
    this.#basePath = parsed.pathname.replace(/\/$/, "");
  }

  /** The `Host` header the upstream expects. */
  get host(): string {
    return this.url.host;
  }

  /**
   * Streams a request through untouched in both directions: nothing is
   * buffered, so uploads and downloads of any size pass at constant memory.
   */
  passThrough(req: IncomingMessage, res: ServerResponse): void {
    const outgoing = this.#request(
      req.method ?? "GET",
      req.url ?? "/",
      upstreamHeaders(req, this.host),
    );

    outgoing.on("response", (answer) => {
      res.writeHead(
        answer.statusCode ?? 502,
        answer.statusMessage,
        endToEnd(answer.headers),
      );
      // An upstream that breaks off mid-body cuts the client's response too.
      answer.on("error", () => res.destroy());
      answer.pipe(res);
    });
    outgoing.on("error", (error) => {
      req.unpipe(outgoing);
      sendProblem(
        res,
        badGateway(error.message || (error as { code?: string }).code || "error"),
      );
    });
    res.on("close", () => {
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  }

  /** Sends a request whose body is in memory; resolves when headers arrive. */
  send(request: BufferedRequest): Promise<UpstreamResponse> {
    return new Promise((resolve, reject) => {
      const headers = { ...request.headers, host: this.host };
      if (request.body !== undefined) headers["content-length"] = request.body.byteLength;
      const outgoing = this.#request(request.method, request.path, headers);
      outgoing.on("response", (answer) => {
        resolve({
          status: answer.statusCode ?? 502,
          headers: endToEnd(answer.headers),
          body: answer,
        });
      });
      outgoing.on("error", reject);
      outgoing.end(request.body);
    });
  }

  /** Closes idle keep-alive sockets. */
  close(): void {
    this.#agent.destroy();
  }

  #request(
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
  ): http.ClientRequest {
    return this.#module.request({
      protocol: this.url.protocol,
      hostname: this.url.hostname,
      port: this.url.port,
      method,
      path: `${this.#basePath}${path}`,
      headers,
      agent: this.#agent,
    });
  }
}
