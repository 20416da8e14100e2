-- GB/T 38540 seals and signatures. An SM2 seal's electronic seal (SESeal, DER), made by
-- the seal maker when its image is set, beside the image it carries. Usage records of
-- SES signatures name what was signed by its SM3 digest: the SHA-256 column becomes
-- optional (one of the two is always there) and 'ses' joins the formats. SQLite cannot
-- change a column's constraints in place, so the usage table is rebuilt.
ALTER TABLE seal_images ADD COLUMN eseal BLOB;

CREATE TABLE seal_usages_next (
    id            TEXT PRIMARY KEY NOT NULL,
    seal_id       TEXT NOT NULL REFERENCES seals (id),
    actor         TEXT NOT NULL,          -- subject:<id> or client:<id>
    client_id     TEXT NOT NULL,
    digest_sha256 TEXT,                   -- hex, of what was sealed
    digest_sm3    TEXT,                   -- hex, of what was sealed (SES)
    format        TEXT NOT NULL CHECK (format IN ('cades', 'pades', 'jws', 'ses')),
    purpose       TEXT,
    created_at    INTEGER NOT NULL,
    CHECK (digest_sha256 IS NOT NULL OR digest_sm3 IS NOT NULL)
);
INSERT INTO seal_usages_next (id, seal_id, actor, client_id, digest_sha256, format, purpose, created_at)
    SELECT id, seal_id, actor, client_id, digest_sha256, format, purpose, created_at FROM seal_usages;
DROP TABLE seal_usages;
ALTER TABLE seal_usages_next RENAME TO seal_usages;
CREATE INDEX seal_usages_seal ON seal_usages (seal_id, created_at);
