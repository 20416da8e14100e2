-- At the counter (线下窗口协办): staff with the counter role at a service hall verify a
-- person in person and hand them a one-time code for their first passkey.
-- The counter role (窗口).
ALTER TABLE staff_roles DROP CONSTRAINT staff_roles_role_check;
ALTER TABLE staff_roles ADD CONSTRAINT staff_roles_role_check
    CHECK (role IN ('issuer', 'seal-user', 'seal-admin', 'dept-admin', 'counter'));

-- Who verified whom in person, where and how. A person verified in person counts as a
-- verified identity (level 2) even where the identity registry does not know them.
CREATE TABLE in_person_verifications (
    id            TEXT PRIMARY KEY NOT NULL,
    subject_id    TEXT NOT NULL REFERENCES subjects (id),
    staff_id      TEXT NOT NULL REFERENCES subjects (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    hall          TEXT NOT NULL,
    method        TEXT NOT NULL CHECK (method IN ('id-card-seen', 'id-card-reader')),
    at            BIGINT NOT NULL
);
CREATE INDEX in_person_verifications_subject ON in_person_verifications (subject_id, at);

-- One-time codes printed at the counter (stored as SHA-256), typed with the person's
-- ID number: with one, on their own phone, the person adds their first passkey. A new
-- code cancels the person's older ones.
CREATE TABLE counter_codes (
    id          TEXT PRIMARY KEY NOT NULL,
    subject_id  TEXT NOT NULL REFERENCES subjects (id),
    code_sha256 TEXT NOT NULL,
    staff_id    TEXT NOT NULL REFERENCES subjects (id),
    hall        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX counter_codes_subject ON counter_codes (subject_id, code_sha256);

-- A spent code opens one passkey enrolment for 15 minutes (the token in the page's
-- form, stored as SHA-256): no session, nothing else.
CREATE TABLE counter_enrolments (
    token_sha256 TEXT PRIMARY KEY NOT NULL,
    subject_id   TEXT NOT NULL REFERENCES subjects (id),
    expires_at   BIGINT NOT NULL,
    used_at      BIGINT
);
