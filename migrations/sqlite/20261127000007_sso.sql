-- Single sign-on state, shared by all instances: login flows (a pending authorization
-- request and its CSRF token), sessions, and authorization codes. Secrets that
-- reach browsers (session and flow cookies, codes) are stored only as SHA-256.

CREATE TABLE login_flows (
    id_sha256   TEXT PRIMARY KEY NOT NULL,
    csrf_token  TEXT NOT NULL,
    request     TEXT NOT NULL,        -- the validated authorization request, JSON
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY NOT NULL,  -- public session id (the sid claim)
    token_sha256  TEXT NOT NULL UNIQUE,       -- of the cookie value
    subject_id    TEXT NOT NULL REFERENCES subjects (id),
    auth_time     INTEGER NOT NULL,
    acr           TEXT NOT NULL,
    amr           TEXT NOT NULL,              -- space-separated RFC 8176 values
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,                -- absolute end
    ended_at      INTEGER
);
CREATE INDEX sessions_subject ON sessions (subject_id);

CREATE TABLE auth_codes (
    code_sha256     TEXT PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL REFERENCES clients (id),
    session_id      TEXT NOT NULL REFERENCES sessions (id),
    redirect_uri    TEXT NOT NULL,
    scope           TEXT NOT NULL,
    nonce           TEXT,
    code_challenge  TEXT NOT NULL,            -- S256 only
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    used_at         INTEGER
);
