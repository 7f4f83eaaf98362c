-- The index on (aggregate_type, aggregate_id, recorded_at) served no query: reads "as of" a
-- moment take the stream by sequence and cut it where recorded_at passes the moment, which never
-- goes back along a stream. Every append paid to keep it: on SQLite a group of entries for
-- several projects wrote nearly twice as many pages to the log with it. The recorded_at column
-- stays, for SQL readers of the log.
DROP INDEX IF EXISTS events_recorded_at;
