-- Budgets shared by every instance (the public verifications per client address per
-- minute): how much of `key`'s budget the instances together have taken in the window
-- that starts at `window_start` (ms). An instance takes a slice at a time and spends it
-- in memory, so the pair never exceeds the budget and asks the table once per slice.
CREATE TABLE rate_leases (
    key          TEXT PRIMARY KEY NOT NULL,
    window_start BIGINT NOT NULL,
    used         BIGINT NOT NULL
);
CREATE INDEX rate_leases_window ON rate_leases (window_start);
