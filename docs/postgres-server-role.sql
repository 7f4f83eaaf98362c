-- What the role `coprod serve` connects as may do, and nothing more (docs/operations.md).
--
-- Once, as a superuser (or a role with CREATEROLE), with coprod_owner the role that owns the
-- tables (the one `coprod migrate` runs as):
--
--   CREATE ROLE coprod_server LOGIN PASSWORD '…';
--   GRANT coprod_server TO coprod_owner;       -- so that the owner may hand it participant_keys
--   GRANT pg_read_all_stats TO coprod_server;  -- so that erasure sees every older transaction
--
-- Then as coprod_owner, in the Coprod database, after every `coprod migrate`:
--
--   psql "$OWNER_URL" -v ON_ERROR_STOP=1 -f docs/postgres-server-role.sql
--
-- Nothing is granted on a table not named here. tests/hardening.rs runs a server as a role
-- given exactly these grants, and fails when a table of the database is not named here.

-- The log: read and append only. No UPDATE, DELETE or TRUNCATE: PostgreSQL refuses them by
-- permission, before the append-only trigger is reached.
GRANT SELECT, INSERT ON events TO coprod_server;
GRANT USAGE ON SEQUENCE events_position_seq TO coprod_server;

-- Signed checkpoints and the heads each one logged: read and appended only, like the log.
GRANT SELECT, INSERT ON checkpoints TO coprod_server;
GRANT SELECT, INSERT ON checkpoint_heads TO coprod_server;

-- Tokens: read, made (the first admin token on an empty database, and by administrators
-- through the API), marked used, revoked and expired.
GRANT SELECT, INSERT, UPDATE ON api_tokens TO coprod_server;
GRANT SELECT, UPDATE ON token_revisions TO coprod_server;

-- The pages' sessions: opened, seen, ended, and removed once expired.
GRANT SELECT, INSERT, UPDATE, DELETE ON web_sessions TO coprod_server;

-- Kept answers to Idempotency-Key: claimed, answered, taken over, released, expired.
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO coprod_server;

-- Caches rebuilt from the log, and how far the catch-up reader has read.
GRANT SELECT, INSERT, UPDATE, DELETE ON project_views TO coprod_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON portfolio_projects TO coprod_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON projector_checkpoints TO coprod_server;

-- Personal data's keys: made, re-wrapped, and deleted on erasure. Erasure then rewrites the
-- table (VACUUM FULL), which PostgreSQL lets only the table's owner do (from PostgreSQL 17,
-- GRANT MAINTAIN would do), so the server's role owns this one table. coprod_owner, a member
-- of coprod_server, may still change it in later migrations.
GRANT SELECT, INSERT, UPDATE, DELETE ON participant_keys TO coprod_server;
ALTER TABLE participant_keys OWNER TO coprod_server;

-- Which master key the data keys are wrapped by (written on the first start).
GRANT SELECT, INSERT, UPDATE ON master_key_check TO coprod_server;

-- Erasures whose table rewrite is still to do.
GRANT SELECT, INSERT, DELETE ON erased_key_cleanup TO coprod_server;
GRANT USAGE ON SEQUENCE erased_key_cleanup_id_seq TO coprod_server;

-- Participants' one-time invitations: issued, and marked used (or given back) when answered.
GRANT SELECT, INSERT, UPDATE ON invitations TO coprod_server;

-- Which migrations are applied: a server starts only on a database `coprod migrate` brought up
-- to date, and never changes the schema itself.
GRANT SELECT ON _sqlx_migrations TO coprod_server;
