-- The catalog cache. Rows keyed by digest are immutable: a digest is fetched once, ever.

CREATE TABLE repositories (
    id           INTEGER PRIMARY KEY,
    profile_id   INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    first_seen   TEXT NOT NULL,
    last_seen    TEXT NOT NULL,
    UNIQUE (profile_id, name)
);

-- created and size are copied from the manifest at sync time, so tag lists sort without joins.
CREATE TABLE tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    digest        TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    created       TEXT,
    size          INTEGER NOT NULL DEFAULT 0,
    first_seen    TEXT NOT NULL,
    last_seen     TEXT NOT NULL,
    PRIMARY KEY (repository_id, name)
);
CREATE INDEX tags_digest ON tags (digest);
CREATE INDEX tags_created ON tags (repository_id, created);

-- Substring search over "repository:tag" and digests: a trigram index (case-insensitive), kept in
-- step with tags by triggers; rowid = tags.rowid. Digests are indexed as hex only: the "sha256:"
-- every digest shares would make every search for a digest touch every row.
CREATE VIRTUAL TABLE tags_search USING fts5(ref, hex, tokenize = 'trigram');
CREATE TRIGGER tags_search_insert AFTER INSERT ON tags BEGIN
    INSERT INTO tags_search (rowid, ref, hex)
    VALUES (new.rowid, (SELECT name FROM repositories WHERE id = new.repository_id) || ':' || new.name,
            substr(new.digest, instr(new.digest, ':') + 1));
END;
CREATE TRIGGER tags_search_update AFTER UPDATE OF digest ON tags BEGIN
    UPDATE tags_search SET hex = substr(new.digest, instr(new.digest, ':') + 1) WHERE rowid = old.rowid;
END;
CREATE TRIGGER tags_search_delete AFTER DELETE ON tags BEGIN
    DELETE FROM tags_search WHERE rowid = old.rowid;
END;

CREATE TABLE manifests (
    digest        TEXT PRIMARY KEY,
    media_type    TEXT NOT NULL,
    raw           BLOB NOT NULL,
    size          INTEGER NOT NULL,
    -- images: from the config blob; indexes: from the first platform that has one
    created       TEXT,
    os            TEXT,
    architecture  TEXT,
    variant       TEXT,
    config_digest TEXT,
    artifact_type TEXT,
    subject       TEXT,
    -- image: config + layers; index: manifests + configs + layers of all children, distinct
    total_size    INTEGER NOT NULL DEFAULT 0,
    fetched_at    TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX manifests_subject ON manifests (subject) WHERE subject IS NOT NULL;

CREATE TABLE manifest_children (
    parent       TEXT NOT NULL,
    child        TEXT NOT NULL,
    os           TEXT,
    architecture TEXT,
    variant      TEXT,
    PRIMARY KEY (parent, child)
) WITHOUT ROWID;
CREATE INDEX manifest_children_child ON manifest_children (child);

CREATE TABLE blobs (
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    media_type TEXT
) WITHOUT ROWID;

-- image manifest -> its config and layers
CREATE TABLE manifest_blobs (
    manifest TEXT NOT NULL,
    blob     TEXT NOT NULL,
    PRIMARY KEY (manifest, blob)
) WITHOUT ROWID;
CREATE INDEX manifest_blobs_blob ON manifest_blobs (blob);

CREATE TABLE referrers (
    subject       TEXT NOT NULL,
    referrer      TEXT NOT NULL,
    artifact_type TEXT,
    PRIMARY KEY (subject, referrer)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
    id                INTEGER PRIMARY KEY,
    profile_id        INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    status            TEXT NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'ok', 'failed', 'cancelled')),
    repositories      INTEGER NOT NULL DEFAULT 0,
    tags              INTEGER NOT NULL DEFAULT 0,
    manifests_fetched INTEGER NOT NULL DEFAULT 0,
    requests          INTEGER NOT NULL DEFAULT 0,
    errors            INTEGER NOT NULL DEFAULT 0,
    message           TEXT
);
CREATE INDEX sync_runs_profile ON sync_runs (profile_id, id);
