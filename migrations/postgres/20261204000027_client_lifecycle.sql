-- A client's secret is rotated with a grace period: the previous secret keeps working
-- until `previous_secret_until`, so that a relying party can switch without an
-- outage. A disabled client is unknown to every protocol endpoint until enabled again.
ALTER TABLE clients ADD COLUMN previous_secret_sha256 TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_until BIGINT;
ALTER TABLE clients ADD COLUMN disabled_at BIGINT;
