-- Retention policies saved per profile (a JSON RetentionPolicy each), applied together by
-- `berth retention NAME --saved`: a tag goes only when no saved policy covering it keeps it.
CREATE TABLE retention_policies (
    id         INTEGER PRIMARY KEY,
    profile_id INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    policy     TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX retention_policies_profile ON retention_policies (profile_id, id);
