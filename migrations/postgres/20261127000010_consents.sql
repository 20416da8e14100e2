-- Consents: which scopes a person has allowed a third-party client. First-party
-- portals need none. Withdrawn on the account page, which also revokes the client's
-- refresh tokens for that person.
CREATE TABLE consents (
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    client_id   TEXT NOT NULL REFERENCES clients (id),
    scopes      TEXT NOT NULL,            -- space-separated
    granted_at  BIGINT NOT NULL,
    PRIMARY KEY (subject_id, client_id)
);

-- The legal person an agent acts for in this session (login with a company's USCC).
ALTER TABLE sessions ADD COLUMN acting_for TEXT REFERENCES subjects (id);
