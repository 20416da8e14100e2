-- At the counter, second step: assisted sessions and password resets.
--
-- An assisted session (窗口协办) is an authority of kind 'counter': a clerk at a hall
-- asks, the person confirms on a device of theirs with the code the clerk reads to
-- them, and for 30 minutes the clerk acts for the person. The table is rebuilt for the
-- wider CHECK (SQLite cannot alter one), and delegation_acts with it (it references it).
CREATE TABLE delegations_v2 (
    id           TEXT PRIMARY KEY NOT NULL,
    principal_id TEXT NOT NULL REFERENCES subjects (id),
    delegate_id  TEXT NOT NULL REFERENCES subjects (id),
    kind         TEXT NOT NULL CHECK (kind IN ('relative', 'guardian', 'counter')),
    matters      TEXT NOT NULL,
    legal_basis  TEXT,
    status       TEXT NOT NULL CHECK (status IN ('offered', 'active', 'declined', 'ended')),
    valid_until  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    accepted_at  INTEGER,
    ended_at     INTEGER,
    ended_by     TEXT,
    hall         TEXT,                       -- set up or asked for at a counter
    code_sha256  TEXT,                       -- an assisted session's code, until confirmed
    code_tries   INTEGER NOT NULL DEFAULT 0  -- wrong codes typed for it
);
INSERT INTO delegations_v2 (id, principal_id, delegate_id, kind, matters, legal_basis, status,
    valid_until, created_at, created_by, accepted_at, ended_at, ended_by)
    SELECT id, principal_id, delegate_id, kind, matters, legal_basis, status,
    valid_until, created_at, created_by, accepted_at, ended_at, ended_by FROM delegations;
CREATE TABLE delegation_acts_v2 (
    id            TEXT PRIMARY KEY NOT NULL,
    delegation_id TEXT NOT NULL REFERENCES delegations_v2 (id),
    principal_id  TEXT NOT NULL,
    delegate_id   TEXT NOT NULL,
    action        TEXT NOT NULL,
    client_id     TEXT,
    at            INTEGER NOT NULL
);
INSERT INTO delegation_acts_v2 SELECT id, delegation_id, principal_id, delegate_id, action, client_id, at
    FROM delegation_acts;
DROP TABLE delegation_acts;
DROP TABLE delegations;
ALTER TABLE delegations_v2 RENAME TO delegations;
ALTER TABLE delegation_acts_v2 RENAME TO delegation_acts;
CREATE UNIQUE INDEX delegations_open ON delegations (principal_id, delegate_id)
    WHERE status IN ('offered', 'active');
CREATE INDEX delegations_principal ON delegations (principal_id);
CREATE INDEX delegations_delegate ON delegations (delegate_id);
CREATE INDEX delegation_acts_principal ON delegation_acts (principal_id, at);
CREATE INDEX delegation_acts_delegate ON delegation_acts (delegate_id, at);

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
