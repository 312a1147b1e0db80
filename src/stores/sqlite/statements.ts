/**
 * The SQL of the SQLite store. Fenced writes match on the owner's token and
 * `status = 'in_progress'`, so a stale owner changes no row.
 */
const KEY = "namespace = ? AND scope = ? AND key = ?";
const FENCE = `${KEY} AND token = ? AND status = 'in_progress'`;

export const SQL = {
  select: `SELECT * FROM idemkit_records WHERE ${KEY}`,

  upsert: `INSERT OR REPLACE INTO idemkit_records
    (namespace, scope, key, fingerprint, status, token, lease_until, attempts,
     result, error, steps, created_at, completed_at, expires_at)
    VALUES (@namespace, @scope, @key, @fingerprint, @status, @token, @lease_until, @attempts,
     @result, @error, @steps, @created_at, @completed_at, @expires_at)`,

  complete: `UPDATE idemkit_records
    SET status = 'completed', result = ?, completed_at = ?, expires_at = ?, lease_until = 0
    WHERE ${FENCE}`,

  fail: `UPDATE idemkit_records
    SET status = 'failed', error = ?, completed_at = ?, expires_at = ?, lease_until = 0
    WHERE ${FENCE}`,

  extend: `UPDATE idemkit_records
    SET lease_until = ?, expires_at = MAX(expires_at, ?)
    WHERE ${FENCE}`,

  saveStep: `UPDATE idemkit_records SET steps = json_set(steps, ?, ?) WHERE ${FENCE}`,

  delete: `DELETE FROM idemkit_records WHERE ${KEY}`,

  // Keyset pagination over the primary key; NULL filters match everything.
  list: `SELECT * FROM idemkit_records
    WHERE (@first = 1 OR (namespace, scope, key) > (@afterNamespace, @afterScope, @afterKey))
      AND (@namespace IS NULL OR namespace = @namespace)
      AND (@scope IS NULL OR scope = @scope)
      AND (@status IS NULL OR status = @status)
    ORDER BY namespace, scope, key
    LIMIT @limit`,

  // A record is expired past expires_at, unless it is in progress with a live lease.
  stats: `SELECT
      COUNT(*) AS total,
      SUM(CASE WHEN expires_at <= @now AND NOT (status = 'in_progress' AND lease_until > @now) THEN 1 ELSE 0 END) AS expired,
      SUM(CASE WHEN status = 'in_progress' AND NOT (expires_at <= @now AND lease_until <= @now) THEN 1 ELSE 0 END) AS in_progress,
      SUM(CASE WHEN status = 'completed' AND expires_at > @now THEN 1 ELSE 0 END) AS completed,
      SUM(CASE WHEN status = 'failed' AND expires_at > @now THEN 1 ELSE 0 END) AS failed
    FROM idemkit_records`,

  sweep: `DELETE FROM idemkit_records WHERE (namespace, scope, key) IN (
      SELECT namespace, scope, key FROM idemkit_records
      WHERE expires_at <= @now AND NOT (status = 'in_progress' AND lease_until > @now)
      LIMIT @batch)`,
} as const;
