-- Token services on another host than the registry's that the user trusts with the profile's
-- password: origins (`https://auth.example.com`), space separated.
ALTER TABLE profiles ADD COLUMN trusted_token_services TEXT NOT NULL DEFAULT '';
