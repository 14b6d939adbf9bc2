-- Clicks per link, UTC day, referrer host and browser family (GET /api/links/{code}/stats: byReferrer, byBrowser).
-- The API already pre-aggregates on exactly this key (ADR 0010); the worker writes this table in the same statement as
-- link_clicks_daily and the batch ledger, so both are counted exactly once and, per (code, day), the sum of this table
-- equals link_clicks_daily's row for every day since this migration. Days counted before it have no breakdown.
--
-- referrer_host is '' for a click without (or with an unparsable) Referer, so it can be part of the primary key; the
-- API answers it as null. "C" collation like links.code: byte order, no locale surprises in the ordering by name.
-- Width: the stream parser truncates hosts to 255 and families to 32 characters.
--
-- Grants: none here, like 0001-0003. The migrator runs as shortener_owner, and 20-roles.sql gives shortener_app
-- SELECT/INSERT/UPDATE/DELETE on every table shortener_owner creates (ALTER DEFAULT PRIVILEGES); a GRANT naming the
-- role would also break databases migrated without the roles (tests, a DBA-owned database).
--
-- Retention: none, like link_clicks_daily (which it mirrors; the ledger's 7-day pruning is about idempotency, not
-- statistics). Growth is one row per distinct (code, day, referrer host, family) with a click: bounded per API flush by
-- Clicks:MaxKeys, but not in total. A retention for statistics would prune both tables by day together.
CREATE TABLE link_clicks_by_source (
    code          text COLLATE "C" NOT NULL,
    day           date             NOT NULL,
    referrer_host text COLLATE "C" NOT NULL CHECK (length(referrer_host) <= 255),
    browser       text COLLATE "C" NOT NULL CHECK (length(browser) BETWEEN 1 AND 32),
    clicks        bigint           NOT NULL CHECK (clicks >= 0),
    -- (code, day) first: the stats query reads one code's window of days.
    PRIMARY KEY (code, day, referrer_host, browser)
);
