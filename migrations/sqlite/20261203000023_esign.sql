-- Personal e-signatures (个人电子签名). A person's signing certificate certifies a key
-- the service keeps under the KEK and uses only under an approval of that person over
-- exactly what is signed.
CREATE TABLE signing_certificates (
    id                 TEXT PRIMARY KEY NOT NULL,
    subject_id         TEXT NOT NULL REFERENCES subjects (id),
    key_id             TEXT NOT NULL,
    certificate_serial TEXT NOT NULL UNIQUE,
    certificate_sha256 TEXT NOT NULL,
    status             TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    valid_until        INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    revoked_at         INTEGER,
    revoked_by         TEXT
);
CREATE INDEX signing_certificates_subject ON signing_certificates (subject_id);

-- A signing request (签署任务) from a department system or portal: who signs which
-- documents for what, until when. Documents are kept until collected or expired.
CREATE TABLE signing_requests (
    id             TEXT PRIMARY KEY NOT NULL,
    client_id      TEXT NOT NULL,
    department_id  TEXT,
    signer_id      TEXT NOT NULL REFERENCES subjects (id),
    purpose        TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'signed', 'declined', 'expired')),
    decline_reason TEXT,
    callback_url   TEXT,
    deadline       INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    completed_at   INTEGER,
    collected_at   INTEGER
);
CREATE INDEX signing_requests_signer ON signing_requests (signer_id, created_at);
CREATE INDEX signing_requests_pending ON signing_requests (deadline) WHERE status = 'pending';

CREATE TABLE signing_documents (
    request_id    TEXT NOT NULL REFERENCES signing_requests (id),
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    pages         INTEGER NOT NULL,
    page          INTEGER NOT NULL,
    x             REAL NOT NULL,
    y             REAL NOT NULL,
    size          REAL NOT NULL,
    original      BLOB,                     -- NULL once collected or expired
    signed        BLOB,                     -- NULL once collected or expired
    signed_sha256 TEXT,
    PRIMARY KEY (request_id, position)
);

-- One approval by the person: a passkey assertion whose challenge is the SHA-256 of
-- `commitment` (signer, request, each document's or hash's SHA-256, time, nonce), or
-- their password and authenticator code over the same commitment. Used once; a CSC
-- SAD names one (by its SHA-256) and allows `signatures_left` signatures of the
-- committed hashes.
CREATE TABLE signing_approvals (
    id              TEXT PRIMARY KEY NOT NULL,
    subject_id      TEXT NOT NULL REFERENCES subjects (id),
    certificate_id  TEXT NOT NULL REFERENCES signing_certificates (id),
    request_id      TEXT,
    commitment      TEXT NOT NULL,
    state           TEXT,                   -- webauthn-rs ceremony state while pending
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'used')),
    method          TEXT,                   -- hwk, swk (passkeys) or otp
    credential_id   TEXT,
    evidence        TEXT,                   -- the assertion as the browser sent it
    sad_sha256      TEXT UNIQUE,
    signatures_left INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    approved_at     INTEGER,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX signing_approvals_subject ON signing_approvals (subject_id, created_at);

-- Every personal signature: what was signed (a document's SHA-256, or the hash a CSC
-- client sent) and the SHA-256 of the signature value (SignerInfo.signature), by
-- which a verification report finds it.
CREATE TABLE personal_signatures (
    id               TEXT PRIMARY KEY NOT NULL,
    subject_id       TEXT NOT NULL REFERENCES subjects (id),
    certificate_id   TEXT NOT NULL REFERENCES signing_certificates (id),
    approval_id      TEXT NOT NULL REFERENCES signing_approvals (id),
    request_id       TEXT,
    format           TEXT NOT NULL CHECK (format IN ('pades', 'hash')),
    document_sha256  TEXT NOT NULL,
    value_sha256     TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX personal_signatures_subject ON personal_signatures (subject_id, created_at);
CREATE INDEX personal_signatures_value ON personal_signatures (value_sha256);

-- The requester's callback of a finished request, retried with back-off.
CREATE TABLE signing_callbacks (
    request_id   TEXT PRIMARY KEY NOT NULL REFERENCES signing_requests (id),
    url          TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,
    delivered_at INTEGER,
    last_error   TEXT
);
CREATE INDEX signing_callbacks_due ON signing_callbacks (next_at) WHERE delivered_at IS NULL;
