-- The cqrs-es event table, as postgres-es 0.5.0 reads and writes it (DDL copied from its db/init.sql),
-- plus the columns the store fills itself:
--   position     a global, gap-tolerant order of appends (commits may become visible out of order;
--                readers use xid below the snapshot's xmin, see DESIGN rule 5),
--   recorded_at  derived from the metadata (for indexing; always equal to metadata.recorded_at),
--   xid          the appending transaction.
-- No snapshots table: Coprod loads aggregates from events only.
CREATE TABLE events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    position       bigserial                    NOT NULL,
    recorded_at    text GENERATED ALWAYS AS (metadata ->> 'recorded_at') STORED,
    xid            xid8                         NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_position ON events (position);
CREATE INDEX events_xid_position ON events (xid, position);
CREATE INDEX events_recorded_at ON events (aggregate_type, aggregate_id, recorded_at);

-- The log is append-only: nothing may change or remove an entry.
CREATE FUNCTION events_append_only() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'events are append-only: % refused', TG_OP;
END;
$$;

CREATE TRIGGER events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();
