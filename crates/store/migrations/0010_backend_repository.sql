-- What a Nexus child profile's repository is (hosted, proxy or group), its deployment policy (ALLOW,
-- ALLOW_ONCE, DENY), and the endpoint the user set for it (a reverse proxy, another host): a
-- discovery keeps that one instead of the connector URL it computes.
ALTER TABLE profile_backends ADD COLUMN repository_kind TEXT NOT NULL DEFAULT 'hosted';
ALTER TABLE profile_backends ADD COLUMN write_policy TEXT;
ALTER TABLE profile_backends ADD COLUMN endpoint_override TEXT;
