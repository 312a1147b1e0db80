/**
 * The SQL of the Postgres store, as named constants built once per table
 * name (a validated, quoted identifier). Every value travels as a bind
 * parameter; the only text spliced in is the table name.
 *
 * Times come from the database: `NOW_MS` reads `clock_timestamp()`, so the
 * clocks of application hosts never decide a lease.
 */

/** Epoch milliseconds from the database clock. */
export const NOW_MS = "floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/** The columns of a record row, in table order. */
export const COLUMNS =
  "namespace, scope, key, fingerprint, status, token, lease_until, attempts, " +
  "taken_over, result, error, error_final, steps, created_at, completed_at, expires_at";

/** The SQL text of every store operation over one table. */
export interface StoreQueries {
  readonly claim: string;
  readonly complete: string;
  readonly fail: string;
  readonly extend: string;
  readonly saveStep: string;
  readonly get: string;
  readonly delete: string;
  readonly stats: string;
  readonly sweep: string;
  /** `list` with its filters; the WHERE clause is added per call. */
  readonly listHead: string;
  /** The transactional runner's completion (see `transaction.ts`). */
  readonly settle: string;
}

/** Builds the queries for `table`, an already quoted `"schema"."name"`. */
export function buildQueries(table: string): StoreQueries {
  // A record is expired once past `expires_at`, unless an owner still holds a
  // live lease on it. `$now` is the statement's clock reading.
  const expired = (row: string, now: string) =>
    `(${now} >= ${row}.expires_at AND NOT (${row}.status = 'in_progress' AND ${now} < ${row}.lease_until))`;
  // The states `decideClaim` acquires from (besides no row at all).
  const acquirable = (row: string, now: string, fingerprint: string) =>
    `(${expired(row, now)} OR (${row}.fingerprint = ${fingerprint} AND (
      (${row}.status = 'failed' AND NOT ${row}.error_final)
      OR (${row}.status = 'in_progress' AND ${row}.lease_until <= ${now}))))`;

  /*
   * The claim: one statement, one round trip. The INSERT writes a fresh
   * record; on a conflict the UPDATE's WHERE allows only the transitions of
   * `decideClaim` that acquire:
   *
   *   expired record                      → fresh record, attempts 1
   *   same fingerprint, retryable failure → attempts + 1, steps kept
   *   same fingerprint, lease ran out     → attempts + 1, steps kept, taken over
   *
   * The INSERT's NOT EXISTS reads the row first: when the row in the
   * statement's snapshot is one no claim may take (completed, final
   * failure, live lease, other fingerprint), the INSERT is skipped
   * altogether, so replays and busy answers are pure reads that lock and
   * write nothing. Otherwise the upsert runs, and its WHERE re-checks
   * against the latest row version. When nothing was claimed, the second
   * half of the UNION reads the row as it stood (same snapshot as the
   * NOT EXISTS), from which the store tells mismatch, replay and busy
   * apart. The token is max(previous + 1, clock in µs) in every acquiring
   * case.
   *
   * The row is read by two plain index lookups rather than one shared CTE:
   * a CTE referenced twice is materialised on every call, which cost about
   * a tenth of the throughput of fresh claims (bench/postgres.ts). In the
   * fresh case the second lookup never runs (its one-time filter is false).
   *
   * One race: a row inserted by a transaction that commits while this
   * statement runs makes the INSERT yield (the UPDATE sees it) but is not in
   * the statement's snapshot, so neither half returns a row. The store then
   * runs the statement again; the next snapshot sees the row.
   */
  const byId = (row: string) =>
    `${row}.namespace = $1 AND ${row}.scope = $2 AND ${row}.key = $3`;
  const claim = `
WITH clock AS (SELECT ${NOW_MS} AS now_ms),
claimed AS (
  INSERT INTO ${table} AS r (namespace, scope, key, fingerprint, status, token,
    lease_until, attempts, taken_over, steps, created_at, expires_at)
  SELECT $1, $2, $3, $4, 'in_progress', c.now_ms * 1000, c.now_ms + $5::bigint, 1,
    false, '{}'::jsonb, c.now_ms, c.now_ms + greatest($5::bigint, $6::bigint)
  FROM clock c
  WHERE NOT EXISTS (
    SELECT 1 FROM ${table} e WHERE ${byId("e")} AND NOT ${acquirable("e", "c.now_ms", "$4")})
  ON CONFLICT (namespace, scope, key) DO UPDATE SET
    fingerprint = CASE WHEN ${expired("r", "excluded.created_at")}
      THEN excluded.fingerprint ELSE r.fingerprint END,
    status = 'in_progress',
    token = greatest(r.token + 1, excluded.token),
    lease_until = excluded.lease_until,
    attempts = CASE WHEN ${expired("r", "excluded.created_at")} THEN 1 ELSE r.attempts + 1 END,
    taken_over = r.status = 'in_progress' AND NOT ${expired("r", "excluded.created_at")},
    result = NULL,
    error = NULL,
    error_final = false,
    steps = CASE WHEN ${expired("r", "excluded.created_at")} THEN '{}'::jsonb ELSE r.steps END,
    created_at = CASE WHEN ${expired("r", "excluded.created_at")}
      THEN excluded.created_at ELSE r.created_at END,
    completed_at = NULL,
    expires_at = CASE WHEN ${expired("r", "excluded.created_at")}
      THEN excluded.expires_at ELSE greatest(r.expires_at, excluded.lease_until) END
  WHERE ${acquirable("r", "excluded.created_at", "excluded.fingerprint")}
  RETURNING ${COLUMNS.replace(/(\w+)/g, "r.$1")}
)
SELECT claimed.*, true AS acquired, (SELECT now_ms FROM clock) AS now_ms FROM claimed
UNION ALL
SELECT ${COLUMNS.replace(/(\w+)/g, "t.$1")}, false, (SELECT now_ms FROM clock)
FROM ${table} t
WHERE ${byId("t")} AND NOT EXISTS (SELECT 1 FROM claimed)`;

  // Fenced writes: they change the row only while `token` still owns it.
  const fence =
    "namespace = $1 AND scope = $2 AND key = $3 AND token = $4 AND status = 'in_progress'";

  const complete = `
UPDATE ${table} SET status = 'completed', lease_until = 0, result = $5,
  completed_at = c.now_ms, expires_at = c.now_ms + $6::bigint
FROM (SELECT ${NOW_MS} AS now_ms) c
WHERE ${fence}`;

  const fail = `
UPDATE ${table} SET status = 'failed', lease_until = 0, error = $5, error_final = $6,
  completed_at = c.now_ms, expires_at = c.now_ms + $7::bigint
FROM (SELECT ${NOW_MS} AS now_ms) c
WHERE ${fence}`;

  const extend = `
UPDATE ${table} SET lease_until = c.now_ms + $5::bigint,
  expires_at = greatest(expires_at, c.now_ms + $5::bigint)
FROM (SELECT ${NOW_MS} AS now_ms) c
WHERE ${fence}`;

  const saveStep = `
UPDATE ${table} SET steps = steps || jsonb_build_object($5::text, $6::text)
WHERE ${fence}`;

  const get = `
SELECT ${COLUMNS}, ${NOW_MS} AS now_ms FROM ${table}
WHERE namespace = $1 AND scope = $2 AND key = $3`;

  const del = `DELETE FROM ${table} WHERE namespace = $1 AND scope = $2 AND key = $3`;

  const stats = `
SELECT count(*) AS total,
  count(*) FILTER (WHERE ${expired("t", "c.now_ms")}) AS expired,
  count(*) FILTER (WHERE NOT ${expired("t", "c.now_ms")} AND status = 'in_progress') AS in_progress,
  count(*) FILTER (WHERE NOT ${expired("t", "c.now_ms")} AND status = 'completed') AS completed,
  count(*) FILTER (WHERE NOT ${expired("t", "c.now_ms")} AND status = 'failed') AS failed
FROM ${table} t, (SELECT ${NOW_MS} AS now_ms) c`;

  // Batched, so a large backlog never holds many row locks at once; SKIP
  // LOCKED lets sweepers in several processes share the work.
  const sweep = `
DELETE FROM ${table} WHERE ctid IN (
  SELECT t.ctid FROM ${table} t, (SELECT ${NOW_MS} AS now_ms) c
  WHERE t.expires_at <= c.now_ms AND ${expired("t", "c.now_ms")}
  LIMIT $1 FOR UPDATE OF t SKIP LOCKED)`;

  const listHead = `
SELECT ${COLUMNS.replace(/(\w+)/g, "t.$1")}, c.now_ms FROM ${table} t, (SELECT ${NOW_MS} AS now_ms) c`;

  /*
   * The transactional runner's single write: the record, already settled,
   * inserted or replacing the row the runner read at the start of its
   * transaction. The WHERE makes the replacement conditional on that row
   * being unchanged (same token); if a plain claim slipped in between, the
   * statement returns nothing and the runner rolls back and starts over.
   */
  const settle = `
WITH clock AS (SELECT ${NOW_MS} AS now_ms)
INSERT INTO ${table} AS r (${COLUMNS})
SELECT $1, $2, $3, $4, $5, $6::bigint, 0, $7, false, $8, $9, $10, $11::jsonb, $12::bigint,
  c.now_ms, c.now_ms + $13::bigint
FROM clock c
ON CONFLICT (namespace, scope, key) DO UPDATE SET
  fingerprint = excluded.fingerprint, status = excluded.status, token = excluded.token,
  lease_until = 0, attempts = excluded.attempts, taken_over = false,
  result = excluded.result, error = excluded.error, error_final = excluded.error_final,
  steps = excluded.steps, created_at = excluded.created_at,
  completed_at = excluded.completed_at, expires_at = excluded.expires_at
WHERE r.token = $14::bigint
RETURNING r.token`;

  return {
    claim,
    complete,
    fail,
    extend,
    saveStep,
    get,
    delete: del,
    stats,
    sweep,
    listHead,
    settle,
  };
}

/** The expiry test as SQL over alias `t` and clock column `c.now_ms`, for `list`. */
export const EXPIRED_SQL =
  "(c.now_ms >= t.expires_at AND NOT (t.status = 'in_progress' AND c.now_ms < t.lease_until))";
