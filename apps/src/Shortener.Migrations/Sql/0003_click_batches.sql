-- Idempotency per batch instead of per click. The API pre-aggregates clicks and writes one stream entry per flush
-- (ADR 0010), so the ledger grows with flushes (about one row per second per API process), not with traffic:
-- 7 days of retention is ~600,000 rows per replica at any click rate, where one row per click was unbounded.
CREATE TABLE processed_click_batches (
    batch_id     uuid        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX processed_click_batches_processed_at ON processed_click_batches USING brin (processed_at);

-- Entries of the old format are still counted (as batches of one, keyed by their event id). Keep the ids counted in the
-- last hour, the window in which a commit-then-crash redelivery of an old entry can still arrive (ClaimMinIdle is 30 s).
INSERT INTO processed_click_batches (batch_id, processed_at)
SELECT event_id, processed_at FROM processed_click_events WHERE processed_at > now() - interval '1 hour';

DROP TABLE processed_click_events;
