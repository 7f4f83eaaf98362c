-- Lets a batch of statements refuse itself, rolled back whole, when a count computed inside it
-- is not what it must be: SQLite cannot raise an error from a query, so the batch inserts a row
-- that breaks this table's check. A group of appends is written as one batch
-- (src/store/group.rs); it must not commit if one of its idempotent answers could not be kept
-- because a retry took the claim over. The table stays empty.
CREATE TABLE statement_checks
(
    holds integer NOT NULL CONSTRAINT claim_taken_over CHECK (holds = 1)
);
