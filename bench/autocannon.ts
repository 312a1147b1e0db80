/**
 * autocannon for the HTTP benchmarks, typed by the few fields they use
 * (the package ships no types of its own).
 */
import { createRequire } from "node:module";

export interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

export interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method: string;
  headers: Record<string, string>;
  body: string;
  requests?: { setupRequest: (req: { headers: Record<string, string> }) => unknown }[];
}

export const autocannon = createRequire(import.meta.url)("autocannon") as (
  options: AutocannonOptions,
) => Promise<AutocannonResult>;
