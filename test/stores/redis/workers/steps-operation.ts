/**
 * The three-step operation of the take-over tests, shared by the worker
 * (which may die mid-way) and the test (which takes over). Each step's
 * real execution bumps its own Redis counter outside the store, and returns
 * a fresh random value, so a replayed step is told apart from a re-run.
 */
import { randomUUID } from "node:crypto";
import type { IdempotencyContext } from "../../../../src/index.js";

export interface StepsResult {
  readonly reserve: string;
  readonly charge: string;
  readonly receipt: string;
}

export function stepsOperation(
  command: (args: string[]) => Promise<unknown>,
  counter: string,
  afterCharge: (done: Omit<StepsResult, "receipt">) => Promise<void> = async () => {},
) {
  const once = (name: string) => async () => {
    await command(["INCR", `${counter}${name}`]);
    return `${name}-${randomUUID()}`;
  };
  return async (ctx: IdempotencyContext): Promise<StepsResult> => {
    const reserve = await ctx.step("reserve", once("reserve"));
    const charge = await ctx.step("charge", once("charge"));
    await afterCharge({ reserve, charge });
    const receipt = await ctx.step("receipt", once("receipt"));
    return { reserve, charge, receipt };
  };
}
