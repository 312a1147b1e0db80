-- idemkit records for SQLite. One row per (namespace, scope, key); times are
-- epoch milliseconds; `error` and `steps` are JSON text.
CREATE TABLE IF NOT EXISTS idemkit_records (
  namespace    TEXT    NOT NULL,
  scope        TEXT    NOT NULL,
  key          TEXT    NOT NULL,
  fingerprint  TEXT    NOT NULL,
  status       TEXT    NOT NULL,
  token        INTEGER NOT NULL,
  lease_until  INTEGER NOT NULL,
  attempts     INTEGER NOT NULL,
  result       TEXT,
  error        TEXT,
  steps        TEXT    NOT NULL DEFAULT '{}',
  created_at   INTEGER NOT NULL,
  completed_at INTEGER,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (namespace, scope, key)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS idemkit_records_expires_at ON idemkit_records (expires_at);
