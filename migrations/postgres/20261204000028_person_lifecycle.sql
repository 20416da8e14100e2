-- A deactivated person cannot sign in (every login path treats them as unknown) until
-- reactivated; their data stays.
ALTER TABLE subjects ADD COLUMN deactivated_at BIGINT;
