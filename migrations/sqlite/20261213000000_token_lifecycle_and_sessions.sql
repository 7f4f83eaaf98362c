-- Tokens may expire and be revoked; when each was last used is kept (to within a minute).
-- Instants are RFC 3339 text, as created_at is.
ALTER TABLE api_tokens ADD COLUMN expires_at text;
ALTER TABLE api_tokens ADD COLUMN revoked_at text;
ALTER TABLE api_tokens ADD COLUMN last_used_at text;

-- How many revocations there have been: every server polls it, and forgets the tokens it
-- keeps in memory when it grows, so that a revocation reaches every server within a second.
CREATE TABLE token_revisions
(
    singleton integer PRIMARY KEY DEFAULT 1 CHECK (singleton = 1),
    revision  integer NOT NULL
) STRICT;
INSERT INTO token_revisions (singleton, revision) VALUES (1, 0);

-- The pages' sessions, shared by every server of the database. Only the SHA-256 of a
-- session's id (the cookie) and of its token are kept. Times are Unix seconds.
CREATE TABLE web_sessions
(
    session_hash text    PRIMARY KEY,
    token_hash   text    NOT NULL,
    started_at   integer NOT NULL,
    seen_at      integer NOT NULL
) STRICT;
CREATE INDEX web_sessions_by_token ON web_sessions (token_hash);
