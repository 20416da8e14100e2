-- E-seals: a department's seals, each with its own key (encrypted under the KEK) and
-- certificate from the issuing CA; every change kept in a history; grants to staff
-- and client systems; and the usage log, written in the transaction that signs.
CREATE TABLE seals (
    id                  TEXT PRIMARY KEY NOT NULL,
    department_id       TEXT NOT NULL REFERENCES departments (id),
    code                TEXT NOT NULL UNIQUE,
    kind                TEXT NOT NULL CHECK (kind IN ('official', 'contract', 'finance', 'invoice', 'legal-representative')),
    name                TEXT NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    key_id              TEXT NOT NULL,
    certificate_serial  TEXT NOT NULL,
    valid_until         INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX seals_department ON seals (department_id);

CREATE TABLE seal_history (
    seal_id     TEXT NOT NULL REFERENCES seals (id),
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    change      TEXT NOT NULL,            -- created, suspended, resumed, revoked, granted, ungranted
    details     TEXT NOT NULL             -- JSON
);
CREATE INDEX seal_history_seal ON seal_history (seal_id, at);

CREATE TABLE seal_grants (
    seal_id           TEXT NOT NULL REFERENCES seals (id),
    grantee_kind      TEXT NOT NULL CHECK (grantee_kind IN ('staff', 'client')),
    grantee_id        TEXT NOT NULL,      -- a subject id or a client_id
    purpose_required  INTEGER NOT NULL CHECK (purpose_required IN (0, 1)),
    expires_at        INTEGER,
    granted_by        TEXT NOT NULL,
    granted_at        INTEGER NOT NULL,
    PRIMARY KEY (seal_id, grantee_kind, grantee_id)
);

CREATE TABLE seal_usages (
    id            TEXT PRIMARY KEY NOT NULL,
    seal_id       TEXT NOT NULL REFERENCES seals (id),
    actor         TEXT NOT NULL,          -- subject:<id> or client:<id>
    client_id     TEXT NOT NULL,
    digest_sha256 TEXT NOT NULL,          -- hex, of what was sealed
    format        TEXT NOT NULL CHECK (format IN ('cades', 'pades', 'jws')),
    purpose       TEXT,
    created_at    INTEGER NOT NULL
);
CREATE INDEX seal_usages_seal ON seal_usages (seal_id, created_at);
