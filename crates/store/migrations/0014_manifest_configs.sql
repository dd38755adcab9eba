-- The parts of an image's config Berth shows (created, platform, labels, env, entrypoint, cmd, history),
-- as JSON: an image's detail answers from the cache when the registry does not (offline). Written by
-- sync with the manifest, or the first time an image is inspected online (rows cached before this
-- column existed). Configs are immutable by digest, like the manifests that name them.
ALTER TABLE manifests ADD COLUMN config TEXT;
