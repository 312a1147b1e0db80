import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseCommandArgs } from "../../src/cli/args.js";
import { inspectCommand } from "../../src/cli/commands/inspect.js";
import { parseListen } from "../../src/cli/commands/proxy.js";
import { CliUsageError } from "../../src/cli/errors.js";
import { Progress } from "../../src/cli/format.js";
import { readAll, readWithin } from "../../src/cli/proxy/bridge.js";
import { endToEnd, upstreamHeaders } from "../../src/cli/proxy/headers.js";
import { redact, sqlitePath } from "../../src/cli/store-url.js";

function fakeRequest(headers: Record<string, string>): IncomingMessage {
  return { headers, socket: { remoteAddress: "10.0.0.9" } } as unknown as IncomingMessage;
}

describe("proxy headers", () => {
  it("drops hop-by-hop headers, including those the Connection header lists", () => {
    const headers = endToEnd({
      connection: "keep-alive, x-hop",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      upgrade: "websocket",
      "x-hop": "1",
      "x-end": "2",
      "content-type": "application/json",
    });

    expect(headers).toEqual({ "x-end": "2", "content-type": "application/json" });
  });

  it("sets Host to the upstream's and extends an existing X-Forwarded-For chain", () => {
    const headers = upstreamHeaders(
      fakeRequest({ host: "api.example", "x-forwarded-for": "203.0.113.7" }),
      "127.0.0.1:3000",
    );

    expect(headers.host).toBe("127.0.0.1:3000");
    expect(headers["x-forwarded-for"]).toBe("203.0.113.7, 10.0.0.9");
    expect(headers["x-forwarded-host"]).toBe("api.example");
    expect(headers["x-forwarded-proto"]).toBe("http");
  });
});

describe("CLI argument parsing", () => {
  it("reads --listen as HOST:PORT, :PORT or PORT", () => {
    expect(parseListen("0.0.0.0:9000")).toEqual({ host: "0.0.0.0", port: 9000 });
    expect(parseListen(":8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseListen("8081")).toEqual({ host: "127.0.0.1", port: 8081 });
    expect(parseListen("[::1]:8082")).toEqual({ host: "::1", port: 8082 });
    expect(() => parseListen("nope")).toThrow(CliUsageError);
    expect(() => parseListen("1:70000")).toThrow(CliUsageError);
  });

  it("prefers a flag over its environment variable, and the variable over the default", () => {
    const fromFlag = parseCommandArgs(inspectCommand, ["--store", "memory:"], {
      IDEMKIT_STORE: "sqlite:env.db",
    });
    const fromEnv = parseCommandArgs(inspectCommand, [], {
      IDEMKIT_STORE: "sqlite:env.db",
    });
    const fromDefault = parseCommandArgs(inspectCommand, [], {});

    expect(fromFlag !== "help" && fromFlag.strings.store).toBe("memory:");
    expect(fromEnv !== "help" && fromEnv.strings.store).toBe("sqlite:env.db");
    expect(fromDefault !== "help" && fromDefault.strings.store).toBe(
      "sqlite:./idemkit.db",
    );
  });

  it("rejects unknown flags and stray arguments with a usage error", () => {
    expect(() => parseCommandArgs(inspectCommand, ["--bogus"], {})).toThrow(/--bogus/);
    expect(() => parseCommandArgs(inspectCommand, ["extra"], {})).toThrow(
      /unexpected argument/,
    );
  });
});

describe("store URLs", () => {
  it("hides passwords and reads sqlite paths in both spellings", () => {
    expect(redact("postgres://app:s3cret@db:5432/x")).toBe(
      "postgres://app:***@db:5432/x",
    );
    expect(redact("redis://:pw@cache:6379")).toBe("redis://:***@cache:6379");
    expect(sqlitePath("sqlite:./a.db")).toBe("./a.db");
    expect(sqlitePath("sqlite:///var/lib/a.db")).toBe("/var/lib/a.db");
  });
});

describe("proxy body reader", () => {
  it("joins the chunks of a body within the limit", async () => {
    const body = await readAll(Readable.from([Buffer.from("ab"), Buffer.from("cd")]), 4);
    expect(body?.toString()).toBe("abcd");
  });

  it("gives undefined for a body over the limit and stops reading", async () => {
    const stream = Readable.from([Buffer.from("abc"), Buffer.from("de")]);
    expect(await readAll(stream, 4)).toBeUndefined();
    expect(stream.isPaused()).toBe(true);
  });

  it("hands back the start of a longer body, paused, for the caller to stream on", async () => {
    const stream = Readable.from([
      Buffer.from("abc"),
      Buffer.from("de"),
      Buffer.from("f"),
    ]);
    const read = await readWithin(stream, 4);
    expect(read.overflow).toBe(true);
    const start = read.overflow ? Buffer.concat(read.chunks).toString() : "";
    const rest: Buffer[] = [];
    for await (const chunk of stream) rest.push(chunk as Buffer);
    expect(start + Buffer.concat(rest).toString()).toBe("abcdef");
  });

  it("rejects when the stream is destroyed before its end", async () => {
    const stream = new Readable({ read() {} });
    const reading = readAll(stream, 100);
    stream.push(Buffer.from("partial"));
    stream.destroy();
    await expect(reading).rejects.toThrow(/connection closed/);
  });

  it("rejects with the stream's error", async () => {
    const stream = new Readable({ read() {} });
    const reading = readAll(stream, 100);
    stream.destroy(new Error("socket reset"));
    await expect(reading).rejects.toThrow("socket reset");
  });
});

describe("progress line", () => {
  /** A stand-in for stderr that records what is written to it. */
  function fakeStream(isTTY: boolean | undefined): {
    stream: NodeJS.WriteStream;
    writes: string[];
  } {
    const writes: string[] = [];
    const stream = {
      isTTY,
      write: (chunk: string) => {
        writes.push(chunk);
        return true;
      },
    } as unknown as NodeJS.WriteStream;
    return { stream, writes };
  }

  afterEach(() => {
    vi.useRealTimers();
  });

  it("draws on a terminal, at most ten times a second, and erases its line when done", () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date"] });
    const { stream, writes } = fakeStream(true);
    const progress = new Progress(stream);

    progress.update("reading records… 1");
    progress.update("reading records… 2");
    vi.setSystemTime(1_000_100);
    progress.update("reading records… 3");
    progress.done();
    progress.done();

    expect(writes).toEqual([
      "\r\x1b[2Kreading records… 1",
      "\r\x1b[2Kreading records… 3",
      "\r\x1b[2K",
    ]);
  });

  it("writes nothing when the stream is not a terminal (a pipe or a log file)", () => {
    for (const isTTY of [false, undefined]) {
      const { stream, writes } = fakeStream(isTTY);
      const progress = new Progress(stream);

      progress.update("reading records… 1");
      progress.done();

      expect(writes).toEqual([]);
    }
  });
});
