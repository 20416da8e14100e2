-- E-certificates (电子证照): the catalogue of certificate types and who issues them,
-- the certificates (each with its signed credential), Bitstring Status Lists,
-- holders' shares, the access log, and idempotency keys for issuance.
CREATE TABLE ecert_types (
    id               TEXT PRIMARY KEY NOT NULL,
    code             TEXT NOT NULL UNIQUE,   -- GB/T 36902: defining department's USCC + 3 digits
    department_id    TEXT NOT NULL REFERENCES departments (id),
    name_zh          TEXT NOT NULL,
    name_en          TEXT NOT NULL,
    holder_category  TEXT NOT NULL CHECK (holder_category IN ('natural', 'legal')),
    face_schema      TEXT NOT NULL,          -- JSON Schema 2020-12 of the face fields
    validity_days    BIGINT,                -- NULL: valid until revoked
    layout           TEXT NOT NULL,          -- JSON: face fields of the PDF rendition, in order
    created_by       TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);

-- Departments that issue a type, and the seal each signs it with (NULL until chosen).
CREATE TABLE ecert_type_issuers (
    type_id        TEXT NOT NULL REFERENCES ecert_types (id),
    department_id  TEXT NOT NULL REFERENCES departments (id),
    seal_id        TEXT REFERENCES seals (id),
    PRIMARY KEY (type_id, department_id)
);

-- One Bitstring Status List pair (revocation, suspension) per seal at a time; a full
-- list is followed by a new one.
CREATE TABLE ecert_status_lists (
    id          TEXT PRIMARY KEY NOT NULL,
    seal_id     TEXT NOT NULL REFERENCES seals (id),
    size        BIGINT NOT NULL,           -- entries (bits)
    next_index  BIGINT NOT NULL,
    revoked     BYTEA NOT NULL,              -- size/8 bytes, bit 0 = most significant bit of byte 0
    suspended   BYTEA NOT NULL,
    version     BIGINT NOT NULL,           -- bumped by every bit change: the ETag
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX ecert_status_lists_seal ON ecert_status_lists (seal_id, created_at);

CREATE TABLE ecerts (
    id              TEXT PRIMARY KEY NOT NULL,
    identifier      TEXT NOT NULL UNIQUE,    -- GB/T 36904, with its check character
    type_id         TEXT NOT NULL REFERENCES ecert_types (id),
    department_id   TEXT NOT NULL REFERENCES departments (id),   -- the issuer
    seal_id         TEXT NOT NULL REFERENCES seals (id),
    holder_id       TEXT NOT NULL REFERENCES subjects (id),
    serial          TEXT NOT NULL,
    version         BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'superseded')),
    status_reason   TEXT,
    face            TEXT NOT NULL,           -- JSON
    credential      TEXT NOT NULL,           -- the VC-JWT
    status_list_id  TEXT NOT NULL REFERENCES ecert_status_lists (id),
    status_index    BIGINT NOT NULL,
    valid_from      BIGINT NOT NULL,
    valid_until     BIGINT,
    supersedes      TEXT REFERENCES ecerts (id),
    superseded_by   TEXT REFERENCES ecerts (id),
    issued_by       TEXT NOT NULL,           -- subject:<id> or client:<id>
    issued_at       BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (status_list_id, status_index)
);
CREATE INDEX ecerts_holder ON ecerts (holder_id, issued_at);
CREATE INDEX ecerts_holder_type ON ecerts (holder_id, type_id);

CREATE TABLE ecert_shares (
    id            TEXT PRIMARY KEY NOT NULL,
    ecert_id      TEXT NOT NULL REFERENCES ecerts (id),
    token_sha256  TEXT NOT NULL UNIQUE,       -- hex; the token itself is only given out
    code_sha256   TEXT NOT NULL UNIQUE,       -- hex of the short code, likewise
    audience      TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    fields        TEXT NOT NULL,              -- JSON array of the face fields shared
    max_uses      BIGINT,                    -- NULL: until expiry
    uses          BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    revoked_at    BIGINT,
    created_by    TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX ecert_shares_cert ON ecert_shares (ecert_id, created_at);

-- Every verification through a share and every department lookup: shown to the holder.
CREATE TABLE ecert_accesses (
    id          TEXT PRIMARY KEY NOT NULL,
    ecert_id    TEXT NOT NULL REFERENCES ecerts (id),
    channel     TEXT NOT NULL CHECK (channel IN ('share', 'lookup')),
    share_id    TEXT REFERENCES ecert_shares (id),
    accessor    TEXT NOT NULL,                -- the share's audience, or client:<id> / subject:<id>
    purpose     TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ecert_accesses_cert ON ecert_accesses (ecert_id, created_at);

-- Issuance retried with the same Idempotency-Key answers what the first call answered.
CREATE TABLE idempotency_keys (
    actor           TEXT NOT NULL,
    key             TEXT NOT NULL,
    request_sha256  TEXT NOT NULL,
    response        TEXT NOT NULL,            -- JSON
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (actor, key)
);
