-- A seal's uploaded image (PNG with transparency), shown on sealed PDFs instead of the
-- stamp the service draws.
CREATE TABLE seal_images (
    seal_id     TEXT PRIMARY KEY NOT NULL REFERENCES seals (id),
    png         BYTEA NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    updated_at  BIGINT NOT NULL
);
