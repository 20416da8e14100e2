-- Keys may live in a PKCS#11 token (an HSM) instead of under the KEK: such a row keeps
-- the token's label and the key objects' CKA_ID, and no private key at all (an empty
-- encrypted_private).
ALTER TABLE keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'kek' CHECK (kind IN ('kek', 'pkcs11'));
ALTER TABLE keys ADD COLUMN token_label TEXT;
ALTER TABLE keys ADD COLUMN token_object BYTEA;
