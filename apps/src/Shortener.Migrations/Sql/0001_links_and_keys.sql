-- Links, API keys and click aggregates.

CREATE TABLE api_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        NOT NULL,
    -- SHA-256 of the whole key. Keys are 256-bit random secrets, so a fast hash is enough (no password stretching).
    key_hash    bytea       NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    is_admin    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE UNIQUE INDEX api_keys_name_active ON api_keys (name) WHERE revoked_at IS NULL;

CREATE TABLE links (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- "C" collation: codes are case-sensitive byte strings and compare fastest that way.
    code        text COLLATE "C" NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{3,64}$'),
    target_url  text        NOT NULL CHECK (length(target_url) BETWEEN 1 AND 2048),
    permanent   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    -- Soft delete keeps the code reserved forever and lets redirects answer 410 Gone.
    deleted_at  timestamptz,
    created_by  bigint REFERENCES api_keys (id)
);
-- The redirect lookup: unique on code, covering what a redirect needs so it is an index-only scan.
CREATE UNIQUE INDEX links_code ON links (code) INCLUDE (target_url, permanent, expires_at, deleted_at);
-- Keyset pagination of live links, newest first.
CREATE INDEX links_live_by_id ON links (id DESC) WHERE deleted_at IS NULL;

-- Clicks aggregated per link and UTC day by the worker.
CREATE TABLE link_clicks_daily (
    code    text COLLATE "C" NOT NULL,
    day     date   NOT NULL,
    clicks  bigint NOT NULL CHECK (clicks >= 0),
    PRIMARY KEY (code, day)
);

-- Idempotency ledger: an event id is counted once even when the stream delivers it twice.
-- Rows older than the retention window are pruned by the worker (redeliveries happen within minutes).
CREATE TABLE processed_click_events (
    event_id     uuid        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_click_events_processed_at ON processed_click_events USING brin (processed_at);
