-- idemkit records for Postgres, version 1. One row per (namespace, scope,
-- key). Times are epoch milliseconds read from the database clock; `token`
-- is a fencing token in microseconds. `error` is JSON text
-- ({ name, message, code, final }); `error_final` repeats `final` so the
-- claim statement can read it without parsing. `steps` maps a recovery
-- step's name to its encoded result. `taken_over` tells whether the latest
-- claim took over an owner whose lease ran out.
--
-- {{table}} and {{expires_index}} are replaced by validated, quoted
-- identifiers before the script runs.
CREATE TABLE IF NOT EXISTS {{table}} (
  namespace    text    NOT NULL,
  scope        text    NOT NULL,
  key          text    NOT NULL,
  fingerprint  text    NOT NULL,
  status       text    NOT NULL
               CHECK (status IN ('in_progress', 'completed', 'failed')),
  token        bigint  NOT NULL,
  lease_until  bigint  NOT NULL,
  attempts     integer NOT NULL,
  taken_over   boolean NOT NULL DEFAULT false,
  result       text,
  error        text,
  error_final  boolean NOT NULL DEFAULT false,
  steps        jsonb   NOT NULL DEFAULT '{}'::jsonb,
  created_at   bigint  NOT NULL,
  completed_at bigint,
  expires_at   bigint  NOT NULL,
  PRIMARY KEY (namespace, scope, key)
);

CREATE INDEX IF NOT EXISTS {{expires_index}} ON {{table}} (expires_at);
