-- Where a registry:2 profile's filesystem storage lives (`storage.filesystem.rootdirectory`) and the
-- prefix that runs a command there (e.g. `ssh admin@host`; NULL: on this machine). Used by the GC page's
-- empty-repository step and by the storage scan for untagged manifests no sync saw tagged.
ALTER TABLE profiles ADD COLUMN gc_storage_root TEXT;
ALTER TABLE profiles ADD COLUMN gc_remote TEXT;
