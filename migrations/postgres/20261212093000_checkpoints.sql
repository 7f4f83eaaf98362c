-- Signed checkpoints (docs/checkpoints.md): one row per checkpoint, holding the signed checkpoint
-- as its JSON text exactly as it was signed and served, and one row per head each checkpoint
-- logged. Both are append-only, like events: a checkpoint, once made, is never changed or removed.
-- They are trusted for what their signatures and Merkle trees prove, not for being here: the
-- server checks every row it reads against the checkpoint key.
CREATE TABLE checkpoints
(
    number  bigint PRIMARY KEY CHECK (number >= 1),
    made_at text NOT NULL,
    key_id  text NOT NULL,
    signed  text NOT NULL
);

CREATE TABLE checkpoint_heads
(
    checkpoint bigint NOT NULL REFERENCES checkpoints (number),
    project_id text   NOT NULL,
    sequence   bigint NOT NULL CHECK (sequence >= 1),
    digest     text   NOT NULL,
    PRIMARY KEY (checkpoint, project_id)
);

CREATE FUNCTION checkpoints_append_only() RETURNS trigger
    LANGUAGE plpgsql AS
$$
BEGIN
    RAISE EXCEPTION 'checkpoints are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER checkpoints_no_update_or_delete
    BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();

CREATE TRIGGER checkpoints_no_truncate
    BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();

CREATE TRIGGER checkpoint_heads_no_update_or_delete
    BEFORE UPDATE OR DELETE ON checkpoint_heads
    FOR EACH ROW EXECUTE FUNCTION checkpoints_append_only();

CREATE TRIGGER checkpoint_heads_no_truncate
    BEFORE TRUNCATE ON checkpoint_heads
    FOR EACH STATEMENT EXECUTE FUNCTION checkpoints_append_only();
