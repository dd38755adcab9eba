-- Harbor and Nexus backends. A Nexus server profile discovers its docker repositories and gets one
-- browsable child profile per repository (its connector port or path route); this table links a
-- child to its server profile and names the Nexus repository it browses, for deletes through the
-- components API and for blob store / task views.
CREATE TABLE profile_backends (
    profile_id    INTEGER PRIMARY KEY REFERENCES profiles(id) ON DELETE CASCADE,
    -- SET NULL: a child outlives its server profile (it still browses its connector; deletes through
    -- the components API then say that the server profile is gone).
    parent_id     INTEGER REFERENCES profiles(id) ON DELETE SET NULL,
    repository    TEXT NOT NULL,
    discovered_at TEXT NOT NULL
);
CREATE INDEX profile_backends_parent ON profile_backends (parent_id);
