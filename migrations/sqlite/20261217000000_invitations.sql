-- One-time invitations for a participant to say what they think of a project: a random secret
-- in a link, of which only the SHA-256 is kept. A link works until expires_at, and once: used_at
-- is set when an answer is accepted (and the entry it made is kept in answer_sequence).
CREATE TABLE invitations
(
    secret_hash     text PRIMARY KEY,
    project_id      text NOT NULL,
    participant_id  text NOT NULL,
    issued_by       text NOT NULL,
    issued_at       text NOT NULL,
    expires_at      text NOT NULL,
    used_at         text,
    answer_sequence bigint
);

CREATE INDEX invitations_by_participant ON invitations (project_id, participant_id);
