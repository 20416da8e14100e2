-- PKI: encrypted private keys, issued certificates with status, CRLs, counters.
-- Timestamps: BIGINT milliseconds since the Unix epoch, UTC.

-- Private keys, only as AES-256-GCM ciphertext under the KEK; the associated data binds
-- each ciphertext to its id and purpose, so a row copied elsewhere does not decrypt.
CREATE TABLE keys (
    id                TEXT PRIMARY KEY NOT NULL,  -- RFC 7638 thumbprint of the public key
    purpose           TEXT NOT NULL,              -- e.g. issuing-ca, tsa, token, seal:<id>
    algorithm         TEXT NOT NULL,              -- ES256 | Ed25519
    public_key        BYTEA NOT NULL,              -- raw public key
    encrypted_private BYTEA NOT NULL,              -- nonce || AES-256-GCM(PKCS#8) || tag
    created_at        BIGINT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'active' -- active | retired
);
CREATE INDEX keys_purpose ON keys (purpose, created_at);

-- Certificates issued by our CAs (and the imported root), with revocation status.
CREATE TABLE certificates (
    serial            TEXT PRIMARY KEY NOT NULL,  -- lowercase hex
    issuer            TEXT NOT NULL,              -- CA name: root | issuing
    profile           TEXT NOT NULL,              -- root-ca | issuing-ca | seal | tsa | token
    subject           TEXT NOT NULL,
    key_id            TEXT NOT NULL,
    not_before        BIGINT NOT NULL,
    not_after         BIGINT NOT NULL,
    der               BYTEA NOT NULL,
    status            TEXT NOT NULL DEFAULT 'valid', -- valid | revoked
    revoked_at        BIGINT,
    revocation_reason INTEGER,                    -- RFC 5280 CRLReason code
    created_at        BIGINT NOT NULL
);
CREATE INDEX certificates_issuer_status ON certificates (issuer, status);
CREATE INDEX certificates_profile ON certificates (profile, created_at);

-- Every CRL we signed; the newest per CA is served.
CREATE TABLE crls (
    ca          TEXT NOT NULL,
    number      BIGINT NOT NULL,
    this_update BIGINT NOT NULL,
    next_update BIGINT NOT NULL,
    der         BYTEA NOT NULL,
    PRIMARY KEY (ca, number)
);

-- Monotonic counters shared by all instances (CRL numbers, time-stamp serials).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY NOT NULL,
    value BIGINT NOT NULL
);
