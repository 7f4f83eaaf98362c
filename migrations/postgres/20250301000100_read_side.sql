-- API tokens: only the SHA-256 (hex) of each token is kept.
CREATE TABLE api_tokens
(
    token_hash   text PRIMARY KEY,
    role         text NOT NULL,
    organisation text NOT NULL,
    label        text NOT NULL,
    created_at   text NOT NULL
);

-- The first answer to each (principal, Idempotency-Key).
CREATE TABLE idempotency_keys
(
    principal    text    NOT NULL,
    key          text    NOT NULL,
    project_id   text    NOT NULL,
    request_hash text    NOT NULL,
    status       integer NOT NULL,
    body         text    NOT NULL,
    created_at   text    NOT NULL,
    PRIMARY KEY (principal, key)
);

-- One row per project: a cache, rebuildable from events (`coprod rebuild`).
CREATE TABLE project_views
(
    project_id   text PRIMARY KEY,
    organisation text   NOT NULL,
    status       text   NOT NULL,
    body         text   NOT NULL,
    sequence     bigint NOT NULL,
    updated_at   text   NOT NULL
);

CREATE INDEX project_views_organisation ON project_views (organisation, status);

-- How far each catch-up reader has read: the last (xid, position) applied.
CREATE TABLE projector_checkpoints
(
    name     text PRIMARY KEY,
    position bigint NOT NULL,
    xid      bigint NOT NULL DEFAULT 0
);
