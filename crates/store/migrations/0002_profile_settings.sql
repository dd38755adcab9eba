-- Profile settings: auth, TLS, and room for the GC settings of a later issue.
-- Secrets never live here: only whether the OS keyring holds one for the profile.
ALTER TABLE profiles ADD COLUMN auth TEXT NOT NULL DEFAULT 'none' CHECK (auth IN ('none', 'basic', 'token'));
ALTER TABLE profiles ADD COLUMN has_password INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN has_key_passphrase INTEGER NOT NULL DEFAULT 0;
ALTER TABLE profiles ADD COLUMN insecure_skip_verify INTEGER NOT NULL DEFAULT 0;
-- SHA-256 fingerprints (lower-case hex) of server certificates trusted as they are, space separated.
ALTER TABLE profiles ADD COLUMN pinned_sha256 TEXT NOT NULL DEFAULT '';
-- Client certificate and key for mTLS: paths relative to the data directory.
ALTER TABLE profiles ADD COLUMN client_cert_file TEXT;
ALTER TABLE profiles ADD COLUMN client_key_file TEXT;
ALTER TABLE profiles ADD COLUMN gc_command TEXT;
ALTER TABLE profiles ADD COLUMN gc_before TEXT;
ALTER TABLE profiles ADD COLUMN gc_after TEXT;

-- CA certificates imported into a profile (trusted in addition to the system roots). The PEM is in
-- `file` (relative to the data directory); the rest is for display.
CREATE TABLE profile_cas (
    id          INTEGER PRIMARY KEY,
    profile_id  INTEGER NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,
    sha256      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    not_after   TEXT NOT NULL,
    file        TEXT NOT NULL,
    added_at    TEXT NOT NULL,
    UNIQUE (profile_id, sha256)
);
CREATE INDEX profile_cas_profile ON profile_cas (profile_id);
