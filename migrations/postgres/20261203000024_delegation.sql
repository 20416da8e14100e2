-- Relatives acting for a person (亲友代办) and guardianship (监护): a person authorises
-- another natural person for some matters until a date; the relative consents; either
-- ends it at once. Nobody is ever authorised to sign for another.
CREATE TABLE delegations (
    id           TEXT PRIMARY KEY NOT NULL,
    principal_id TEXT NOT NULL REFERENCES subjects (id),
    delegate_id  TEXT NOT NULL REFERENCES subjects (id),
    kind         TEXT NOT NULL CHECK (kind IN ('relative', 'guardian')),
    matters      TEXT NOT NULL,              -- space-separated: sign-in certificates
    legal_basis  TEXT,                       -- guardianship: what the staff member saw
    status       TEXT NOT NULL CHECK (status IN ('offered', 'active', 'declined', 'ended')),
    valid_until  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    created_by   TEXT NOT NULL,              -- the person, or the staff member at a counter
    accepted_at  BIGINT,
    ended_at     BIGINT,
    ended_by     TEXT
);
-- One open authority between the same two people.
CREATE UNIQUE INDEX delegations_open ON delegations (principal_id, delegate_id)
    WHERE status IN ('offered', 'active');
CREATE INDEX delegations_principal ON delegations (principal_id);
CREATE INDEX delegations_delegate ON delegations (delegate_id);

-- What a delegate did for the person, shown to both ("who acted for me").
CREATE TABLE delegation_acts (
    id            TEXT PRIMARY KEY NOT NULL,
    delegation_id TEXT NOT NULL REFERENCES delegations (id),
    principal_id  TEXT NOT NULL,
    delegate_id   TEXT NOT NULL,
    action        TEXT NOT NULL,
    client_id     TEXT,
    at            BIGINT NOT NULL
);
CREATE INDEX delegation_acts_principal ON delegation_acts (principal_id, at);
CREATE INDEX delegation_acts_delegate ON delegation_acts (delegate_id, at);

-- Tokens issued to a delegate for the person live only as long as the authority.
ALTER TABLE refresh_tokens ADD COLUMN delegation_id TEXT;

-- Portals take relatives' logins for a person only when they say so: one that does
-- not know the `act` claim would take the relative for the person.
ALTER TABLE clients ADD COLUMN accepts_delegation INTEGER NOT NULL DEFAULT 0;

-- The session a flow's page (whom to act for, consent) was shown to: only that
-- session may answer it.
ALTER TABLE login_flows ADD COLUMN session_id TEXT;

-- A relying party may take part in one session twice: for the person at the keyboard
-- and, under an authority, for the person they act for; each is told of the logout.
ALTER TABLE session_clients DROP CONSTRAINT session_clients_pkey;
ALTER TABLE session_clients ADD PRIMARY KEY (session_id, client_id, sub);
ALTER TABLE session_clients ADD COLUMN delegation_id TEXT;
CREATE INDEX session_clients_delegation ON session_clients (delegation_id);
