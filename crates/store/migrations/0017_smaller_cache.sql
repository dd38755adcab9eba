-- A smaller cache (issue 22: at most 1.5 KB per tag besides the raw manifests, at 100,000 tags).
--
-- The trigram index held each tag's 64 hex digits (62 trigrams a tag, a third of the cache and the
-- largest single cost of a sync's writes) and a second copy of every name. Now it indexes tag names
-- only and reads them from `tags` (external content, no per-row sizes: nothing ranks); a digest is
-- found by its start (`sha256:…` or its first hex digits) through `tags_digest`, a range scan.
DROP TRIGGER IF EXISTS tags_search_insert;
DROP TRIGGER IF EXISTS tags_search_update;
DROP TRIGGER IF EXISTS tags_search_delete;
DROP TABLE IF EXISTS tags_search;

CREATE VIRTUAL TABLE tags_search USING fts5(name, content = 'tags', columnsize = 0, tokenize = 'trigram');
INSERT INTO tags_search (tags_search) VALUES ('rebuild');
CREATE TRIGGER tags_search_insert AFTER INSERT ON tags BEGIN
    INSERT INTO tags_search (rowid, name) VALUES (new.rowid, new.name);
END;
-- An external-content index is told the old values to remove (its content table has them no more).
CREATE TRIGGER tags_search_update AFTER UPDATE OF name ON tags WHEN old.name IS NOT new.name BEGIN
    INSERT INTO tags_search (tags_search, rowid, name) VALUES ('delete', old.rowid, old.name);
    INSERT INTO tags_search (rowid, name) VALUES (new.rowid, new.name);
END;
CREATE TRIGGER tags_search_delete AFTER DELETE ON tags BEGIN
    INSERT INTO tags_search (tags_search, rowid, name) VALUES ('delete', old.rowid, old.name);
END;

-- blob → manifests: no query walks it (they all go manifest → blobs, from the tags they start at), and
-- it was a second copy of two digests per blob of every image.
DROP INDEX IF EXISTS manifest_blobs_blob;

-- Manifests in a rowid table: rows of half a kilobyte and more keyed by a random digest left a quarter
-- of every page of the WITHOUT ROWID tree empty after its splits; appended by rowid they fill their
-- pages, and the digest's own index (about 100 bytes a manifest) finds them.
CREATE TABLE manifests_by_rowid (
    digest        TEXT PRIMARY KEY,
    media_type    TEXT NOT NULL,
    raw           BLOB NOT NULL,
    size          INTEGER NOT NULL,
    created       TEXT,
    os            TEXT,
    architecture  TEXT,
    variant       TEXT,
    config_digest TEXT,
    artifact_type TEXT,
    subject       TEXT,
    total_size    INTEGER NOT NULL DEFAULT 0,
    fetched_at    TEXT NOT NULL,
    config        TEXT
);
INSERT INTO manifests_by_rowid (digest, media_type, raw, size, created, os, architecture, variant, config_digest,
                                artifact_type, subject, total_size, fetched_at, config)
    SELECT digest, media_type, raw, size, created, os, architecture, variant, config_digest,
           artifact_type, subject, total_size, fetched_at, config FROM manifests;
DROP TABLE manifests;
ALTER TABLE manifests_by_rowid RENAME TO manifests;
CREATE INDEX manifests_subject ON manifests (subject) WHERE subject IS NOT NULL;

-- An image's config is its manifest's `config_digest`: its edge in manifest_blobs repeated two digests
-- (a fifth of the cache). Queries take an image's blobs as its layers here plus its config there.
DELETE FROM manifest_blobs WHERE (manifest, blob) IN
    (SELECT digest, config_digest FROM manifests WHERE config_digest IS NOT NULL);
