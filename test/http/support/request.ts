/**
 * A raw HTTP client for the tests: it can send what `fetch` refuses to
 * (two Idempotency-Key lines, any byte a header may carry).
 */
import { type Agent, type IncomingHttpHeaders, request } from "node:http";

export interface RawResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
  json(): unknown;
}

export interface RawRequest {
  readonly method?: string;
  /** One key (sent as given), or several lines with the same name. */
  readonly key?: string | string[];
  /** A JSON-encodable body, sent as application/json, or raw text. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly agent?: Agent;
}

/** Sends one request and reads the whole response. */
export function send(
  base: string,
  path: string,
  options: RawRequest = {},
): Promise<RawResponse> {
  const url = new URL(path, base);
  const payload =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);

  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "POST", agent: options.agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text),
          });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (payload !== undefined) {
      req.setHeader(
        "content-type",
        typeof options.body === "string" ? "text/plain" : "application/json",
      );
      req.setHeader("content-length", Buffer.byteLength(payload));
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      req.setHeader(name, value);
    }
    if (options.key !== undefined) req.setHeader("Idempotency-Key", options.key);
    req.end(payload);
  });
}

/** Quotes a key as a Structured Field string. */
export function sf(key: string): string {
  return `"${key}"`;
}
