import { parseDuration } from "../../core/duration.js";
import type { Command } from "../args.js";
import { CliUsageError, describeError, EXIT } from "../errors.js";
import { STORE_FLAG } from "../records.js";
import { DEFAULT_STORE_URL, openStore } from "../store-url.js";

/** `HOST:PORT`, `:PORT` or `PORT`. */
export function parseListen(value: string): { host: string; port: number } {
  const match = /^(?:(.*):)?(\d{1,5})$/.exec(value.trim());
  const port = Number(match?.[2]);
  if (!match || port > 65_535) {
    throw new CliUsageError(
      `--listen must look like 127.0.0.1:8080 or 8080, got "${value}"`,
    );
  }
  const host = (match[1] ?? "").replace(/^\[(.*)\]$/, "$1");
  return { host: host === "" ? "127.0.0.1" : host, port };
}

function duration(value: string, flag: string): number {
  try {
    return parseDuration(value as never, `--${flag}`);
  } catch (error) {
    throw new CliUsageError(describeError(error));
  }
}

/** `idemkit proxy`: the gateway. */
export const proxyCommand: Command = {
  name: "proxy",
  summary:
    "Put Idempotency-Key semantics in front of any HTTP service: POST and PATCH requests with a key run once, duplicates get the stored response; everything else streams through untouched.",
  usage:
    "proxy --upstream URL [--listen HOST:PORT] [--store URL] [--required] [--ttl 24h] [--scope-header NAME]",
  flags: {
    upstream: {
      type: "string",
      value: "URL",
      description: "The service to forward to, such as http://127.0.0.1:3000",
      env: "IDEMKIT_UPSTREAM",
    },
    listen: {
      type: "string",
      value: "HOST:PORT",
      description: "Where the proxy listens (port 0 picks a free one)",
      env: "IDEMKIT_LISTEN",
      default: "127.0.0.1:8080",
    },
    store: STORE_FLAG,
    required: {
      type: "boolean",
      description: "Answer 400 to POST/PATCH requests without an Idempotency-Key",
      env: "IDEMKIT_REQUIRED",
    },
    ttl: {
      type: "string",
      value: "DURATION",
      description: "How long a response is replayed",
      env: "IDEMKIT_TTL",
      default: "24h",
    },
    lease: {
      type: "string",
      value: "DURATION",
      description:
        "How long a request holds its key without renewal (a crashed proxy's keys free up after it)",
      env: "IDEMKIT_LEASE",
      default: "30s",
    },
    "scope-header": {
      type: "string",
      value: "NAME",
      description:
        "Scope keys by this request header (say, x-tenant-id) instead of a hash of Authorization",
      env: "IDEMKIT_SCOPE_HEADER",
    },
    grace: {
      type: "string",
      value: "DURATION",
      description: "On SIGINT/SIGTERM, how long in-flight requests may take to finish",
      env: "IDEMKIT_GRACE",
      default: "30s",
    },
  },
  details: `The proxy prints one line when it is ready:
  idemkit proxy listening on http://127.0.0.1:8080 -> http://127.0.0.1:3000 (store sqlite:./idemkit.db)

Examples:
  idemkit proxy --upstream http://127.0.0.1:3000 --listen :8080
  IDEMKIT_STORE=redis://127.0.0.1:6379 idemkit proxy --upstream http://api:3000 --required`,

  async run({ strings, booleans }) {
    if (!strings.upstream) {
      throw new CliUsageError("proxy needs --upstream URL (or IDEMKIT_UPSTREAM)");
    }
    const { host, port } = parseListen(strings.listen!);
    const ttl = duration(strings.ttl!, "ttl");
    const lease = duration(strings.lease!, "lease");
    const grace = duration(strings.grace!, "grace");
    const scopeHeader = strings["scope-header"]?.toLowerCase();

    const [{ Upstream }, { ProxyServer }, { IdempotencyProtocol }] = await Promise.all([
      import("../proxy/upstream.js"),
      import("../proxy/server.js"),
      import("../../http/index.js"),
    ]);
    const upstream = new Upstream(strings.upstream);
    const opened = await openStore(strings.store ?? DEFAULT_STORE_URL);

    const protocol = new IdempotencyProtocol({
      store: opened.store,
      required: booleans.required,
      ttl,
      lease,
      scope:
        scopeHeader === undefined ? undefined : (req) => req.header(scopeHeader) ?? "",
      logger: stderrLogger,
    });
    const server = new ProxyServer({
      upstream,
      protocol,
      onError: (message) => process.stderr.write(`idemkit proxy: ${message}\n`),
    });

    let address: Awaited<ReturnType<typeof server.listen>>;
    try {
      address = await server.listen(host, port);
    } catch (error) {
      await opened.close();
      throw new CliUsageError(
        `Cannot listen on ${host}:${port}: ${describeError(error)}`,
      );
    }
    const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
    process.stdout.write(
      `idemkit proxy listening on http://${shown}:${address.port} -> ${upstream.url.origin}${upstream.url.pathname.replace(/\/$/, "")} (store ${opened.label})\n`,
    );

    // Shutdown: stop accepting, let in-flight requests finish (their records
    // complete, so no key stays leased), then close the store.
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    process.stderr.write(
      `idemkit proxy: ${signal}, finishing ${server.inFlight} in-flight request(s)\n`,
    );
    // A second signal means "now": in-flight requests are cut off and their
    // keys free up after one lease.
    const force = () => process.exit(EXIT.failed);
    process.once("SIGINT", force);
    process.once("SIGTERM", force);
    const drained = await server.shutdown(grace);
    await opened.close();
    if (!drained) {
      process.stderr.write("idemkit proxy: grace period over, requests cut off\n");
      return EXIT.failed;
    }
    process.stderr.write("idemkit proxy: stopped\n");
    return EXIT.ok;
  },
};

/** Warnings and errors of the HTTP layer, one line each on stderr. */
const stderrLogger = {
  debug() {},
  info() {},
  warn(context: object, message: string) {
    process.stderr.write(`idemkit proxy: ${message} ${JSON.stringify(safe(context))}\n`);
  },
  error(context: object, message: string) {
    process.stderr.write(`idemkit proxy: ${message} ${JSON.stringify(safe(context))}\n`);
  },
};

function safe(context: object): object {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(context)) {
    out[name] = value instanceof Error ? describeError(value) : value;
  }
  return out;
}
