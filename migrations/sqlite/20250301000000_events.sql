-- The cqrs-es event table, as sqlite-es 0.5.0 reads and writes it (DDL from its migrations), plus
-- the columns the store fills itself:
--   position     the global order of appends (SQLite has one writer at a time, so positions become
--                visible in order),
--   recorded_at  derived from the metadata (for indexing; always equal to metadata.recorded_at).
-- The key (aggregate_type, aggregate_id, sequence) stays unique; the store maps its violation to a
-- conflict. No snapshots table: Coprod loads aggregates from events only.
CREATE TABLE events
(
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type text                          NOT NULL,
    aggregate_id   text                          NOT NULL,
    sequence       integer CHECK (sequence >= 0) NOT NULL,
    event_type     text                          NOT NULL,
    event_version  text                          NOT NULL,
    payload        text                          NOT NULL,
    metadata       text                          NOT NULL,
    recorded_at    text GENERATED ALWAYS AS (json_extract(metadata, '$.recorded_at')) STORED,
    UNIQUE (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE INDEX events_recorded_at ON events (aggregate_type, aggregate_id, recorded_at);

-- The log is append-only: nothing may change or remove an entry.
CREATE TRIGGER events_no_update
    BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE refused');
END;

CREATE TRIGGER events_no_delete
    BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE refused');
END;
