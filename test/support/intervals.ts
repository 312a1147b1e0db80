import { vi } from "vitest";

/**
 * Records the interval timers made while `fn` runs, and which of them were
 * cleared afterwards, so a test can check that a store's sweep timer never
 * keeps the process alive and stops on `close()`.
 */
export function watchIntervals(): {
  readonly made: NodeJS.Timeout[];
  readonly cleared: Set<unknown>;
  restore(): void;
} {
  const made: NodeJS.Timeout[] = [];
  const cleared = new Set<unknown>();
  const realSet = globalThis.setInterval;
  const realClear = globalThis.clearInterval;
  const setSpy = vi.spyOn(globalThis, "setInterval").mockImplementation(((
    ...args: Parameters<typeof setInterval>
  ) => {
    const timer = realSet(...args);
    made.push(timer);
    return timer;
  }) as typeof setInterval);
  const clearSpy = vi.spyOn(globalThis, "clearInterval").mockImplementation(((
    timer: NodeJS.Timeout | undefined,
  ) => {
    cleared.add(timer);
    realClear(timer);
  }) as typeof clearInterval);
  return {
    made,
    cleared,
    restore: () => {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    },
  };
}
