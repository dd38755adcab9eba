-- 0013's triggers used INSERT OR IGNORE; inside the tags upsert (INSERT … ON CONFLICT DO UPDATE) the
-- outer statement's conflict handling overrides the trigger's OR IGNORE, so a tag moving to a digest the
-- repository already held (`latest` back to an older image) failed the sync with a UNIQUE error. Insert
-- only what is missing instead.
DROP TRIGGER IF EXISTS repository_manifests_tag_insert;
DROP TRIGGER IF EXISTS repository_manifests_tag_move;

CREATE TRIGGER repository_manifests_tag_insert AFTER INSERT ON tags BEGIN
    INSERT INTO repository_manifests (repository_id, digest, first_seen)
    SELECT new.repository_id, new.digest, new.first_seen
    WHERE NOT EXISTS (SELECT 1 FROM repository_manifests
                      WHERE repository_id = new.repository_id AND digest = new.digest);
END;
CREATE TRIGGER repository_manifests_tag_move AFTER UPDATE OF digest ON tags WHEN old.digest IS NOT new.digest BEGIN
    INSERT INTO repository_manifests (repository_id, digest, first_seen)
    SELECT new.repository_id, new.digest, new.last_seen
    WHERE NOT EXISTS (SELECT 1 FROM repository_manifests
                      WHERE repository_id = new.repository_id AND digest = new.digest);
    UPDATE repository_manifests SET last_tagged = new.last_seen
    WHERE repository_id = old.repository_id AND digest = old.digest;
END;
