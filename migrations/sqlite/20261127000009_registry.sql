-- The development identity registry: what a deployment would ask the population
-- database, imported from CSV (tongban admin registry-import). A login whose name and
-- resident ID number match an entry reaches assurance level 2.
CREATE TABLE registry_entries (
    resident_id  TEXT PRIMARY KEY NOT NULL,
    name         TEXT NOT NULL,
    imported_at  INTEGER NOT NULL
);
