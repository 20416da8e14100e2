-- Refresh tokens rotate on every use; a family is every token descended from one
-- grant. A used token presented again means it was stolen: the family is revoked
-- (OAuth 2.0 Security BCP, RFC 9700 §4.14.2).
CREATE TABLE refresh_tokens (
    token_sha256  TEXT PRIMARY KEY NOT NULL,
    family_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL REFERENCES clients (id),
    session_id    TEXT REFERENCES sessions (id),
    subject_id    TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT,
    revoked_at    BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Access tokens are JWTs verified offline; those revoked before they expire are
-- listed here for introspection and userinfo.
CREATE TABLE revoked_access_tokens (
    jti         TEXT PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);

-- What a code produced, so that a replayed code can take it back.
ALTER TABLE auth_codes ADD COLUMN family_id TEXT;
ALTER TABLE auth_codes ADD COLUMN access_jti TEXT;
