-- Ownership and cache versions.

-- Every API key acts for an owner (a person or a system). Links belong to the owner of the key that created
-- them, so a rotated key (a new key for the same owner) keeps access to the owner's links; admin keys see all.
ALTER TABLE api_keys ADD COLUMN owner text;
UPDATE api_keys SET owner = name;
ALTER TABLE api_keys ALTER COLUMN owner SET NOT NULL;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_owner_length CHECK (length(owner) BETWEEN 1 AND 64);

ALTER TABLE links ADD COLUMN owner text;
UPDATE links SET owner = k.owner FROM api_keys k WHERE k.id = links.created_by;
CREATE INDEX links_live_by_owner ON links (owner, id DESC) WHERE deleted_at IS NULL;

-- Bumped by every change a cached copy must not outlive (delete, edit). The caches keep the highest version they
-- have seen, so a cache fill that read the row before the change cannot put the old state back.
ALTER TABLE links ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);

-- The redirect lookup stays an index-only scan: the version joins the covered columns.
DROP INDEX links_code;
CREATE UNIQUE INDEX links_code ON links (code) INCLUDE (target_url, permanent, expires_at, deleted_at, version);
