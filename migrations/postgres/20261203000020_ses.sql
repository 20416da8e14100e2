-- GB/T 38540 seals and signatures. An SM2 seal's electronic seal (SESeal, DER), made by
-- the seal maker when its image is set, beside the image it carries. Usage records of
-- SES signatures name what was signed by its SM3 digest: the SHA-256 column becomes
-- optional (one of the two is always there) and 'ses' joins the formats.
ALTER TABLE seal_images ADD COLUMN eseal BYTEA;

ALTER TABLE seal_usages ALTER COLUMN digest_sha256 DROP NOT NULL;
ALTER TABLE seal_usages ADD COLUMN digest_sm3 TEXT;
ALTER TABLE seal_usages DROP CONSTRAINT seal_usages_format_check;
ALTER TABLE seal_usages ADD CONSTRAINT seal_usages_format_check
    CHECK (format IN ('cades', 'pades', 'jws', 'ses'));
ALTER TABLE seal_usages ADD CONSTRAINT seal_usages_digest_check
    CHECK (digest_sha256 IS NOT NULL OR digest_sm3 IS NOT NULL);
