-- OAuth clients: portals (relying parties) and department systems.
CREATE TABLE clients (
    id                        TEXT PRIMARY KEY NOT NULL,  -- client_id
    name                      TEXT NOT NULL,
    confidential              INTEGER NOT NULL CHECK (confidential IN (0, 1)),
    secret_sha256             TEXT,                       -- hex; never the secret itself
    redirect_uris             TEXT NOT NULL,              -- JSON array, matched exactly
    post_logout_redirect_uris TEXT NOT NULL,              -- JSON array, matched exactly
    scopes                    TEXT NOT NULL,              -- space-separated
    grant_types               TEXT NOT NULL,              -- space-separated
    first_party               INTEGER NOT NULL CHECK (first_party IN (0, 1)),
    department_id             TEXT REFERENCES departments (id),
    created_at                BIGINT NOT NULL,
    CHECK ((confidential = 1 AND secret_sha256 IS NOT NULL) OR (confidential = 0 AND secret_sha256 IS NULL))
);
