-- Subjects: departments (a hierarchy), natural and legal persons, agents acting for
-- legal persons, and department staff with roles. Timestamps: ms since the Unix epoch.

CREATE TABLE departments (
    id          TEXT PRIMARY KEY NOT NULL,
    parent_id   TEXT REFERENCES departments (id),
    level       TEXT NOT NULL CHECK (level IN ('province', 'city', 'county', 'town')),
    name        TEXT NOT NULL,
    uscc        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);
CREATE INDEX departments_parent ON departments (parent_id);

-- A natural person has a resident ID number, a legal person a USCC; never both.
CREATE TABLE subjects (
    id             TEXT PRIMARY KEY NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('natural', 'legal')),
    name           TEXT NOT NULL,
    resident_id    TEXT UNIQUE,
    uscc           TEXT UNIQUE,
    email          TEXT UNIQUE,
    phone          TEXT,
    assurance      INTEGER NOT NULL DEFAULT 1,   -- 1 self-registered, 2 registry-verified
    password_hash  TEXT,                     -- argon2id PHC string
    platform_admin INTEGER NOT NULL DEFAULT 0 CHECK (platform_admin IN (0, 1)),
    created_at     INTEGER NOT NULL,
    CHECK ((kind = 'natural' AND resident_id IS NOT NULL AND uscc IS NULL)
        OR (kind = 'legal' AND uscc IS NOT NULL AND resident_id IS NULL AND password_hash IS NULL))
);

-- A natural person authorised to act for a legal person.
CREATE TABLE agent_links (
    natural_id  TEXT NOT NULL REFERENCES subjects (id),
    legal_id    TEXT NOT NULL REFERENCES subjects (id),
    role        TEXT NOT NULL CHECK (role IN ('legal-representative', 'agent')),
    valid_from  INTEGER NOT NULL,
    valid_until INTEGER,
    PRIMARY KEY (natural_id, legal_id)
);
CREATE INDEX agent_links_legal ON agent_links (legal_id);

-- Department staff: a natural person's membership of a department, with roles.
CREATE TABLE staff (
    subject_id    TEXT NOT NULL REFERENCES subjects (id),
    department_id TEXT NOT NULL REFERENCES departments (id),
    staff_number  TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (subject_id, department_id),
    UNIQUE (department_id, staff_number)
);
CREATE TABLE staff_roles (
    subject_id    TEXT NOT NULL,
    department_id TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('issuer', 'seal-user', 'seal-admin', 'dept-admin')),
    PRIMARY KEY (subject_id, department_id, role),
    FOREIGN KEY (subject_id, department_id) REFERENCES staff (subject_id, department_id)
);
