-- Strong authentication and single logout (issue 5).

-- Passkeys (WebAuthn): one row per credential. The webauthn-rs Passkey (public key,
-- signature counter, backup flags) is kept as JSON and rewritten after each use, so a
-- counter that goes backwards (a cloned authenticator) is caught.
CREATE TABLE passkeys (
    credential_id  TEXT PRIMARY KEY NOT NULL,   -- base64url
    subject_id     TEXT NOT NULL REFERENCES subjects (id),
    name           TEXT NOT NULL,
    passkey        TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_used_at   BIGINT
);
CREATE INDEX passkeys_subject ON passkeys (subject_id);

-- A WebAuthn ceremony between its two requests: any instance may finish what another
-- began, once. Registration is bound to the person, login to the login flow.
CREATE TABLE webauthn_ceremonies (
    id_sha256   TEXT PRIMARY KEY NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('register', 'login')),
    bound_to    TEXT NOT NULL,              -- subject id, or the flow cookie's SHA-256
    state       TEXT NOT NULL,              -- webauthn-rs ceremony state, JSON
    expires_at  BIGINT NOT NULL
);
-- Expired rows are swept on each use: by index, not by scanning the table.
CREATE INDEX webauthn_ceremonies_expiry ON webauthn_ceremonies (expires_at);

-- Per-client settings: back-channel logout (OIDC Back-Channel Logout 1.0), pushed
-- authorization requests (RFC 9126), a minimum assurance level, and the sector of
-- pairwise subject identifiers.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT;
ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN min_level INTEGER NOT NULL DEFAULT 1;
ALTER TABLE clients ADD COLUMN sector_identifier TEXT;

-- Which relying parties took part in a session, and the subject and session id each
-- was told (pairwise for third-party clients).
CREATE TABLE session_clients (
    session_id  TEXT NOT NULL REFERENCES sessions (id),
    client_id   TEXT NOT NULL REFERENCES clients (id),
    sub         TEXT NOT NULL,
    sid         TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

-- Back-channel logout tokens to deliver, retried with back-off; failures stay visible.
CREATE TABLE logout_deliveries (
    id               TEXT PRIMARY KEY NOT NULL,
    client_id        TEXT NOT NULL REFERENCES clients (id),
    session_id       TEXT NOT NULL,
    sub              TEXT NOT NULL,
    sid              TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    delivered_at     BIGINT,
    failed_at        BIGINT,                    -- given up after the last attempt
    last_error       TEXT
);
CREATE INDEX logout_deliveries_due ON logout_deliveries (next_attempt_at);

-- Pairwise subject identifiers (OIDC Core §8.1), so that userinfo finds the person.
CREATE TABLE pairwise_subjects (
    sector      TEXT NOT NULL,
    sub         TEXT NOT NULL,
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    PRIMARY KEY (sector, sub)
);

-- Pushed authorization requests (RFC 9126): used once, within a minute.
CREATE TABLE pushed_requests (
    uri_sha256  TEXT PRIMARY KEY NOT NULL,
    client_id   TEXT NOT NULL REFERENCES clients (id),
    params      TEXT NOT NULL,              -- the request's parameters, JSON
    expires_at  BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expiry ON pushed_requests (expires_at);

-- DPoP (RFC 9449): each proof's jti once while it is fresh; refresh tokens bound to a key.
CREATE TABLE dpop_proofs (
    jti_sha256  TEXT PRIMARY KEY NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expiry ON dpop_proofs (expires_at);
ALTER TABLE refresh_tokens ADD COLUMN dpop_jkt TEXT;
