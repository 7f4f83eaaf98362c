-- Signed checkpoints (docs/checkpoints.md): one row per checkpoint, holding the signed checkpoint
-- as its JSON text exactly as it was signed and served, and one row per head each checkpoint
-- logged. Both are append-only, like events: a checkpoint, once made, is never changed or removed.
-- They are trusted for what their signatures and Merkle trees prove, not for being here: the
-- server checks every row it reads against the checkpoint key.
CREATE TABLE checkpoints
(
    number  integer PRIMARY KEY CHECK (number >= 1),
    made_at text NOT NULL,
    key_id  text NOT NULL,
    signed  text NOT NULL
) STRICT;

CREATE TABLE checkpoint_heads
(
    checkpoint integer NOT NULL REFERENCES checkpoints (number),
    project_id text    NOT NULL,
    sequence   integer NOT NULL CHECK (sequence >= 1),
    digest     text    NOT NULL,
    PRIMARY KEY (checkpoint, project_id)
) STRICT;

CREATE TRIGGER checkpoints_no_update
    BEFORE UPDATE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused');
END;

CREATE TRIGGER checkpoints_no_delete
    BEFORE DELETE ON checkpoints
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused');
END;

CREATE TRIGGER checkpoint_heads_no_update
    BEFORE UPDATE ON checkpoint_heads
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: UPDATE refused');
END;

CREATE TRIGGER checkpoint_heads_no_delete
    BEFORE DELETE ON checkpoint_heads
BEGIN
    SELECT RAISE(ABORT, 'checkpoints are append-only: DELETE refused');
END;
