-- The after command a GC run still owes (its before command started and the after command has not
-- finished): a crash or a kill leaves it set, and the next start offers to run it.
ALTER TABLE gc_runs ADD COLUMN after_pending TEXT;
