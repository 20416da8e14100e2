-- A registry file read for its preview, kept until the administrator who read it
-- imports it (or for an hour): the import names it by id, so that the page never
-- carries the file's unmasked ID numbers back and forth.
CREATE TABLE registry_uploads (
    id          TEXT PRIMARY KEY NOT NULL,
    read_by     TEXT NOT NULL,          -- the administrator's actor
    csv         TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX registry_uploads_age ON registry_uploads (created_at);
