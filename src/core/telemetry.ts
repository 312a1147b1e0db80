/**
 * OpenTelemetry, when the application has `@opentelemetry/api` installed:
 * one span per execution (`idemkit <name>`) and a counter of engine events
 * (`idemkit.events`, by type and store). Without the package this module is
 * inert and costs nothing. The API is reached through small structural
 * types of our own, so any 1.x version fits.
 */
import { createRequire } from "node:module";

interface Attributes {
  [name: string]: string | number | boolean;
}

interface Span {
  isRecording(): boolean;
  setAttribute(name: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error | string): unknown;
  end(): void;
}

interface Tracer {
  startSpan(name: string, options?: { attributes?: Attributes }): Span;
}

interface Counter {
  add(value: number, attributes?: Attributes): void;
}

interface Meter {
  createCounter(name: string, options?: { description?: string }): Counter;
}

interface OtelApi {
  trace: { getTracerProvider(): { getTracer(name: string): Tracer } };
  metrics: { getMeterProvider(): { getMeter(name: string): Meter } };
  SpanStatusCode: { ERROR: number };
}

function loadOtel(): OtelApi | undefined {
  try {
    return createRequire(import.meta.url)("@opentelemetry/api") as OtelApi;
  } catch {
    return undefined;
  }
}

const otel = loadOtel();

// Providers are looked up on use, not at import: the application registers
// its SDK after importing its modules, and a tracer or meter taken before
// that would stay a no-op. The lookups are cached per provider.
let tracerFrom: unknown;
let tracer: Tracer | undefined;
let counterFrom: unknown;
let counter: Counter | undefined;

function currentTracer(api: OtelApi): Tracer {
  const provider = api.trace.getTracerProvider();
  if (provider !== tracerFrom || tracer === undefined) {
    tracerFrom = provider;
    tracer = provider.getTracer("idemkit");
  }
  return tracer;
}

function currentCounter(api: OtelApi): Counter {
  const provider = api.metrics.getMeterProvider();
  if (provider !== counterFrom || counter === undefined) {
    counterFrom = provider;
    counter = provider.getMeter("idemkit").createCounter("idemkit.events", {
      description: "idemkit engine events, by type and store",
    });
  }
  return counter;
}

/** True when `@opentelemetry/api` was found. */
export const telemetryEnabled = otel !== undefined;

// One frozen attributes object per (store, event) pair, so counting an
// event allocates nothing.
const eventAttributes = new Map<string, Map<string, Attributes>>();

/** Counts one engine event. */
export function countEvent(type: string, store: string): void {
  if (otel === undefined) return;
  let byType = eventAttributes.get(store);
  if (byType === undefined) {
    byType = new Map();
    eventAttributes.set(store, byType);
  }
  let attributes = byType.get(type);
  if (attributes === undefined) {
    attributes = Object.freeze({ "idemkit.event": type, "idemkit.store": store });
    byType.set(type, attributes);
  }
  currentCounter(otel).add(1, attributes);
}

/**
 * Wraps one execution in a span that ends when `promise` settles. Returns
 * `promise` unchanged when telemetry is off.
 */
export function traced<T>(name: string, store: string, promise: Promise<T>): Promise<T> {
  if (otel === undefined) return promise;
  const span = currentTracer(otel).startSpan(`idemkit ${name}`, {
    attributes: { "idemkit.name": name, "idemkit.store": store },
  });
  // With no SDK registered every span is a no-op: skip the bookkeeping.
  if (!span.isRecording()) return promise;
  promise.then(
    () => span.end(),
    (error: unknown) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: otel.SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      span.end();
    },
  );
  return promise;
}
