-- The SM2 seal an issuing department seals the OFD copies of a type with (GB/T 38540
-- signatures need an SM2 seal; the credential's P-256 seal signs JWS and PAdES).
ALTER TABLE ecert_type_issuers ADD COLUMN ofd_seal_id TEXT REFERENCES seals (id);

-- Which rendition the issuing departments get by default: 'pdf' or 'ofd'.
ALTER TABLE ecert_types ADD COLUMN rendition TEXT NOT NULL DEFAULT 'pdf';
