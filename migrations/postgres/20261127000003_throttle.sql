-- Login throttling shared by all instances: failures per account and per client
-- address, with exponential back-off once a threshold is passed.
CREATE TABLE throttle (
    key           TEXT PRIMARY KEY NOT NULL, -- "account:<sha256 of identifier>" | "ip:<address>"
    failures      BIGINT NOT NULL,
    window_start  BIGINT NOT NULL,               -- ms since the Unix epoch, UTC
    locked_until  BIGINT NOT NULL                -- 0 when not locked
);
