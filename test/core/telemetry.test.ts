import { metrics, trace } from "@opentelemetry/api";
import { describe, expect, it } from "vitest";
import { idempotent, MemoryStore } from "../../src/index.js";

interface RecordedSpan {
  name: string;
  attributes: Record<string, unknown>;
  ended: boolean;
  status?: { code: number };
}

describe("OpenTelemetry", () => {
  it("records a span per execution and counts events when @opentelemetry/api is installed", async () => {
    const spans: RecordedSpan[] = [];
    const counted: Array<Record<string, unknown>> = [];
    trace.setGlobalTracerProvider({
      getTracer: () =>
        ({
          startSpan(name: string, options?: { attributes?: Record<string, unknown> }) {
            const span: RecordedSpan = {
              name,
              attributes: options?.attributes ?? {},
              ended: false,
            };
            spans.push(span);
            return {
              isRecording: () => true,
              setAttribute: () => undefined,
              setStatus: (status: { code: number }) => {
                span.status = status;
              },
              recordException: () => undefined,
              end: () => {
                span.ended = true;
              },
            };
          },
        }) as never,
    });
    metrics.setGlobalMeterProvider({
      getMeter: () =>
        ({
          createCounter: () => ({
            add: (_n: number, attributes: Record<string, unknown>) =>
              counted.push(attributes),
          }),
        }) as never,
    });
    const { countEvent, traced } = await import("../../src/core/telemetry.js");
    const store = new MemoryStore();
    const op = idempotent(
      async (fail: boolean) => {
        if (fail) throw new Error("boom");
        return 1;
      },
      { store, name: "pay" },
    );

    await op(false);
    await op(true).catch(() => undefined);
    countEvent("acquired", "memory");
    await traced("direct", "memory", Promise.resolve(1));

    expect(spans.map((s) => s.name)).toEqual([
      "idemkit pay",
      "idemkit pay",
      "idemkit direct",
    ]);
    expect(spans[0]?.status).toBeUndefined();
    expect(spans[1]?.status?.code).toBe(2);
    expect(spans.every((s) => s.ended)).toBe(true);
    expect(counted).toContainEqual({
      "idemkit.event": "acquired",
      "idemkit.store": "memory",
    });
    expect(counted).toContainEqual({
      "idemkit.event": "failed",
      "idemkit.store": "memory",
    });
  });
});
