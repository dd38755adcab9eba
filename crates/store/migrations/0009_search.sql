-- Search answers repository-name matches from the small repositories table, so the trigram index
-- only needs what is per tag: the tag name and the digest's hex. Indexing "repository:tag" put the
-- repository's trigrams into each of its tags' rows, and a needle naming a repository ("team7/",
-- "service") intersected posting lists covering nearly every row.
DROP TRIGGER IF EXISTS tags_search_insert;
DROP TRIGGER IF EXISTS tags_search_update;
DROP TRIGGER IF EXISTS tags_search_delete;
DROP TABLE IF EXISTS tags_search;

CREATE VIRTUAL TABLE tags_search USING fts5(name, hex, tokenize = 'trigram');
INSERT INTO tags_search (rowid, name, hex) SELECT rowid, name, substr(digest, instr(digest, ':') + 1) FROM tags;
CREATE TRIGGER tags_search_insert AFTER INSERT ON tags BEGIN
    INSERT INTO tags_search (rowid, name, hex) VALUES (new.rowid, new.name, substr(new.digest, instr(new.digest, ':') + 1));
END;
-- A resync rewrites every tag's digest with the same value: only a real change touches the index.
CREATE TRIGGER tags_search_update AFTER UPDATE OF name, digest ON tags
WHEN old.name IS NOT new.name OR old.digest IS NOT new.digest BEGIN
    UPDATE tags_search SET name = new.name, hex = substr(new.digest, instr(new.digest, ':') + 1) WHERE rowid = old.rowid;
END;
CREATE TRIGGER tags_search_delete AFTER DELETE ON tags BEGIN
    DELETE FROM tags_search WHERE rowid = old.rowid;
END;

-- Per repository, the columns search sorts on: tags of the matching repositories are counted, sorted
-- and cut from this index alone. It leads with (repository_id, created) and so replaces tags_created.
DROP INDEX IF EXISTS tags_created;
CREATE INDEX tags_repository_sort ON tags (repository_id, created, size, name);
