-- no-transaction
-- Clients may authenticate with a signed JWT (private_key_jwt, RFC 7523) instead of a
-- secret: they register a public JWK Set. The table is rebuilt because SQLite cannot
-- change a CHECK constraint; foreign keys are off for the copy (SQLite's documented
-- procedure, https://sqlite.org/lang_altertable.html §7) and checked after it.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE clients_rebuilt (
    id                        TEXT PRIMARY KEY NOT NULL,
    name                      TEXT NOT NULL,
    confidential              INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    secret_sha256             TEXT,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    first_party               INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    department_id             TEXT REFERENCES departments (id),
    created_at                INTEGER NOT NULL,
    jwks                      TEXT,                       -- public JWK Set, JSON
    CHECK ((confidential = 1 AND (secret_sha256 IS NOT NULL OR jwks IS NOT NULL))
        OR (confidential = 0 AND secret_sha256 IS NULL AND jwks IS NULL))
);
INSERT INTO clients_rebuilt (id, name, confidential, secret_sha256, redirect_uris,
    post_logout_redirect_uris, scopes, grant_types, first_party, department_id, created_at)
SELECT id, name, confidential, secret_sha256, redirect_uris, post_logout_redirect_uris,
    scopes, grant_types, first_party, department_id, created_at FROM clients;
DROP TABLE clients;
ALTER TABLE clients_rebuilt RENAME TO clients;

-- A client assertion's jti may be used once while it is valid (RFC 7523 §3).
CREATE TABLE client_assertions (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);
COMMIT;
PRAGMA foreign_keys = ON;
