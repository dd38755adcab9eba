-- Safe deletes: the trash (what a delete removed, to put it back until GC) and the audit log.

-- One entry per removed manifest (with the index children removed along with it) or per untagged tag.
CREATE TABLE trash_entries (
    id          INTEGER PRIMARY KEY,
    profile_id  INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    operation   TEXT NOT NULL,
    repository  TEXT NOT NULL,
    digest      TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    -- 'untag': the tags went, the manifest stayed; 'delete': the manifest went with these tags
    kind        TEXT NOT NULL CHECK (kind IN ('untag', 'delete')),
    tags        TEXT NOT NULL, -- JSON array of tag names
    -- the bytes this entry was predicted to free at GC (each blob counted once in its plan)
    reclaimable INTEGER NOT NULL DEFAULT 0,
    deleted_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'trashed' CHECK (state IN ('trashed', 'restored', 'collected')),
    state_at    TEXT
);
CREATE INDEX trash_entries_profile ON trash_entries (profile_id, state, id);

-- The manifests of an entry, in restore order (children before their index).
CREATE TABLE trash_manifests (
    entry_id   INTEGER NOT NULL REFERENCES trash_entries(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    digest     TEXT NOT NULL,
    media_type TEXT NOT NULL,
    raw        BLOB NOT NULL,
    PRIMARY KEY (entry_id, position)
) WITHOUT ROWID;

-- The blobs (configs, layers) whose bytes the entry's delete predicted freed: checked by GC afterwards.
CREATE TABLE trash_blobs (
    entry_id INTEGER NOT NULL REFERENCES trash_entries(id) ON DELETE CASCADE,
    digest   TEXT NOT NULL,
    size     INTEGER NOT NULL,
    PRIMARY KEY (entry_id, digest)
) WITHOUT ROWID;

-- Every destructive action: when, which profile, what, and how it went. Kept when the profile goes.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    profile_id   INTEGER REFERENCES profiles(id) ON DELETE SET NULL,
    profile_name TEXT NOT NULL,
    at           TEXT NOT NULL,
    operation    TEXT NOT NULL,
    action       TEXT NOT NULL,
    repository   TEXT,
    target       TEXT NOT NULL,
    digest       TEXT,
    result       TEXT NOT NULL CHECK (result IN ('ok', 'skipped', 'failed')),
    message      TEXT
);
CREATE INDEX audit_log_profile ON audit_log (profile_id, id);
