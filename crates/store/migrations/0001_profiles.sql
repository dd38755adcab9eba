-- Profiles: one per registry endpoint the user manages. Secrets never live here (OS keyring).
CREATE TABLE profiles (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    url         TEXT NOT NULL,
    kind        TEXT NOT NULL DEFAULT 'registry' CHECK (kind IN ('registry', 'nexus', 'harbor')),
    username    TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
