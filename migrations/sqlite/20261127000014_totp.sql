-- TOTP second factor (RFC 6238): the secret sealed under a key derived from the KEK,
-- the last time step used (a code never works twice), and hashed one-time recovery
-- codes. A login waiting for its second factor remembers who passed the password.
CREATE TABLE totp_credentials (
    subject_id     TEXT PRIMARY KEY NOT NULL REFERENCES subjects (id),
    secret_sealed  BLOB NOT NULL,
    confirmed      INTEGER NOT NULL CHECK (confirmed IN (0, 1)),
    last_step      INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    subject_id   TEXT NOT NULL REFERENCES subjects (id),
    code_sha256  TEXT NOT NULL,
    used_at      INTEGER,
    PRIMARY KEY (subject_id, code_sha256)
);

ALTER TABLE login_flows ADD COLUMN pending_subject TEXT;
ALTER TABLE login_flows ADD COLUMN pending_acting_for TEXT;
