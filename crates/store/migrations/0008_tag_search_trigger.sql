-- A resync rewrites every tag row (last_seen); the search index only needs work when the digest changed.
DROP TRIGGER tags_search_update;
CREATE TRIGGER tags_search_update AFTER UPDATE OF digest ON tags WHEN old.digest IS NOT new.digest BEGIN
    UPDATE tags_search SET hex = substr(new.digest, instr(new.digest, ':') + 1) WHERE rowid = old.rowid;
END;
