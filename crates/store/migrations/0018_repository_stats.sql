-- Each repository's tag count and size, kept on its row: the repository tree read them from a
-- recursive query over every tag of the profile on each open (16 s at a million tags). Triggers keep
-- the count exact; the size is NULL once anything it depends on changes, and the next read computes
-- it again for those repositories only (`Store::refresh_repository_sizes`; a sync does at its end).
ALTER TABLE repositories ADD COLUMN tag_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE repositories ADD COLUMN size INTEGER;
UPDATE repositories SET tag_count = (SELECT COUNT(*) FROM tags WHERE tags.repository_id = repositories.id);

CREATE TRIGGER repository_stats_tag_insert AFTER INSERT ON tags BEGIN
    UPDATE repositories SET tag_count = tag_count + 1, size = NULL WHERE id = new.repository_id;
END;
CREATE TRIGGER repository_stats_tag_delete AFTER DELETE ON tags BEGIN
    UPDATE repositories SET tag_count = tag_count - 1, size = NULL WHERE id = old.repository_id;
END;
CREATE TRIGGER repository_stats_tag_move AFTER UPDATE OF digest ON tags WHEN old.digest IS NOT new.digest BEGIN
    UPDATE repositories SET size = NULL WHERE id = new.repository_id;
END;
-- A manifest, or an index's child, cached after the tags that reach it (a fetch that failed once). Its
-- blobs and children are written with it, in the same transaction (`insert_manifest`).
CREATE TRIGGER repository_stats_manifest AFTER INSERT ON manifests BEGIN
    UPDATE repositories SET size = NULL WHERE size IS NOT NULL AND id IN (
        SELECT repository_id FROM tags WHERE digest = new.digest
        UNION SELECT t.repository_id FROM manifest_children c JOIN tags t ON t.digest = c.parent
              WHERE c.child = new.digest);
END;
