-- Token signing keys (ID tokens, JWT access tokens) and their rotation schedule. A key
-- is published in the JWKS from creation until retire_at, and signs from activate_at
-- until a newer key activates.
CREATE TABLE token_keys (
    key_id      TEXT PRIMARY KEY NOT NULL REFERENCES keys (id),
    created_at  BIGINT NOT NULL,
    activate_at BIGINT NOT NULL,
    retire_at   BIGINT               -- NULL while no successor is scheduled
);
CREATE INDEX token_keys_activate_at ON token_keys (activate_at);
