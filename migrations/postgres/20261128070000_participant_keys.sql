-- Personal data (DESIGN rule 8): one data key per (project, participant), wrapped (AES-256-GCM)
-- by the master key named by master_key_id. Erasing a participant deletes their row: what was
-- encrypted under it can never be read again. Rows are deleted, so no append-only trigger here.
CREATE TABLE participant_keys
(
    project_id     text NOT NULL,
    participant_id text NOT NULL,
    wrapped_key    text NOT NULL,
    master_key_id  text NOT NULL,
    created_at     text NOT NULL,
    PRIMARY KEY (project_id, participant_id)
);

-- Which master key this database's data keys are wrapped by, and a value encrypted under it, so
-- that a server started with another key stops at once instead of serving what it cannot read.
CREATE TABLE master_key_check
(
    id            integer PRIMARY KEY CHECK (id = 1),
    master_key_id text NOT NULL,
    canary        text NOT NULL,
    updated_at    text NOT NULL
);
