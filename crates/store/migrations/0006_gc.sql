-- Garbage collection runs: what Berth predicted, what the registry freed, and whether the check after
-- it found everything else intact.
CREATE TABLE gc_runs (
    id              INTEGER PRIMARY KEY,
    profile_id      INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    dry_run         INTEGER NOT NULL,
    status          TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed')),
    predicted_bytes INTEGER NOT NULL DEFAULT 0,
    predicted_blobs INTEGER NOT NULL DEFAULT 0,
    freed_bytes     INTEGER NOT NULL DEFAULT 0,
    blobs_freed     INTEGER NOT NULL DEFAULT 0,
    verified        INTEGER,
    message         TEXT,
    log             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX gc_runs_profile ON gc_runs (profile_id, id);
