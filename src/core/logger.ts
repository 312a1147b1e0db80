/**
 * The logger idemkit writes to: any pino-compatible object (pino, bunyan,
 * `console` in an application's own code) fits. Each method receives a
 * context object first, then a message.
 */
export interface Logger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/**
 * The default logger: says nothing. Library code never writes to the
 * console; pass a logger to see what happens.
 *
 * @example
 * ```ts
 * idempotent(fn, { store, logger: pino() });
 * ```
 */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
