-- Secrets sealed under the KEK other than private keys: the root that pseudonyms,
-- TOTP wrapping, authorization codes and DPoP nonces are derived from. Kept so that
-- the KEK can be rotated without changing any derived value.
CREATE TABLE kek_secrets (
    name        TEXT PRIMARY KEY NOT NULL,
    sealed      BYTEA NOT NULL,  -- nonce || AES-256-GCM(secret) || tag, bound to the name
    created_at  BIGINT NOT NULL
);
