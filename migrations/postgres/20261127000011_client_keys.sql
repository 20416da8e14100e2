-- Clients may authenticate with a signed JWT (private_key_jwt, RFC 7523) instead of a
-- secret: they register a public JWK Set.
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients DROP CONSTRAINT clients_check;
ALTER TABLE clients ADD CONSTRAINT clients_check CHECK (
    (confidential = 1 AND (secret_sha256 IS NOT NULL OR jwks IS NOT NULL))
    OR (confidential = 0 AND secret_sha256 IS NULL AND jwks IS NULL));

-- A client assertion's jti may be used once while it is valid (RFC 7523 §3).
CREATE TABLE client_assertions (
    client_id   TEXT NOT NULL,
    jti         TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
