-- A password an administrator set in a reset (a one-time password handed over in
-- person or read out): until when it may be used, and then only to choose a new one.
-- NULL for a password the person chose.
ALTER TABLE subjects ADD COLUMN password_temporary_until BIGINT;
