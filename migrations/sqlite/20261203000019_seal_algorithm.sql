-- A seal's signature algorithm: ES256 (P-256, PAdES/CAdES/JWS) or SM2 (with SM3, the
-- national algorithms for GB/T 38540 seals). Seals made before are P-256.
ALTER TABLE seals ADD COLUMN algorithm TEXT NOT NULL DEFAULT 'ES256' CHECK (algorithm IN ('ES256', 'SM2'));
