-- At the counter, second step: assisted sessions and password resets.
--
-- An assisted session (窗口协办) is an authority of kind 'counter': a clerk at a hall
-- asks, the person confirms on a device of theirs with the code the clerk reads to
-- them, and for 30 minutes the clerk acts for the person.
ALTER TABLE delegations DROP CONSTRAINT delegations_kind_check;
ALTER TABLE delegations ADD CONSTRAINT delegations_kind_check
    CHECK (kind IN ('relative', 'guardian', 'counter'));
ALTER TABLE delegations ADD COLUMN hall TEXT;                        -- set up or asked for at a counter
ALTER TABLE delegations ADD COLUMN code_sha256 TEXT;                 -- an assisted session's code, until confirmed
ALTER TABLE delegations ADD COLUMN code_tries BIGINT NOT NULL DEFAULT 0; -- wrong codes typed for it

-- A printed code is for the first passkey or for a new password.
ALTER TABLE counter_codes ADD COLUMN purpose TEXT NOT NULL DEFAULT 'passkey'
    CHECK (purpose IN ('passkey', 'password'));
ALTER TABLE counter_enrolments ADD COLUMN purpose TEXT NOT NULL DEFAULT 'passkey'
    CHECK (purpose IN ('passkey', 'password'));
CREATE INDEX counter_codes_expiry ON counter_codes (expires_at);
CREATE INDEX counter_enrolments_expiry ON counter_enrolments (expires_at);

-- A relative (or a clerk helping at the counter) may start a signing request for the
-- person, who signs it themself: the request names who started it.
ALTER TABLE signing_requests ADD COLUMN started_by TEXT REFERENCES subjects (id);

-- Authorities running out are ended (with what they gave) by a background round.
CREATE INDEX delegations_running ON delegations (valid_until) WHERE status IN ('offered', 'active');
