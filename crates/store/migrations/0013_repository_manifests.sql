-- Every manifest a repository held under a tag, as syncs saw it. When a tag moves to a new push or goes,
-- its old manifest usually stays in the registry, untagged (registry:2 keeps it until it is deleted by
-- digest; `garbage-collect --delete-untagged` is unsafe on 2.x): these rows are how Berth lists them.
-- Kept in step with tags by triggers; `last_tagged` is when a tag last left it (NULL: never seen leave).
CREATE TABLE repository_manifests (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT NOT NULL,
    first_seen    TEXT NOT NULL,
    last_tagged   TEXT,
    PRIMARY KEY (repository_id, digest)
) WITHOUT ROWID;

INSERT OR IGNORE INTO repository_manifests (repository_id, digest, first_seen)
    SELECT repository_id, digest, MIN(first_seen) FROM tags GROUP BY repository_id, digest;

CREATE TRIGGER repository_manifests_tag_insert AFTER INSERT ON tags BEGIN
    INSERT OR IGNORE INTO repository_manifests (repository_id, digest, first_seen)
    VALUES (new.repository_id, new.digest, new.first_seen);
END;
CREATE TRIGGER repository_manifests_tag_move AFTER UPDATE OF digest ON tags WHEN old.digest IS NOT new.digest BEGIN
    INSERT OR IGNORE INTO repository_manifests (repository_id, digest, first_seen)
    VALUES (new.repository_id, new.digest, new.last_seen);
    UPDATE repository_manifests SET last_tagged = new.last_seen
    WHERE repository_id = old.repository_id AND digest = old.digest;
END;
CREATE TRIGGER repository_manifests_tag_delete AFTER DELETE ON tags BEGIN
    UPDATE repository_manifests SET last_tagged = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
    WHERE repository_id = old.repository_id AND digest = old.digest;
END;
