-- Daily tallies of events too frequent to write one row each (public verifications,
-- failed logins), for the console's overview: counted in each instance's memory and
-- added here in one upsert per (kind, department, day) every few seconds.
-- department_id is '' for what belongs to the platform, not to one department; day is
-- the day number since 1970-01-01 in China Standard Time (UTC+8).
CREATE TABLE daily_tallies (
    kind           TEXT NOT NULL,
    department_id  TEXT NOT NULL,
    day            BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    PRIMARY KEY (kind, department_id, day)
);
-- The overview counts a department's certificates and seal uses per day: by time
-- within the department, not by holder or seal first.
CREATE INDEX ecerts_department_time ON ecerts (department_id, issued_at, type_id);
CREATE INDEX ecerts_time ON ecerts (issued_at, type_id);
CREATE INDEX seal_usages_time ON seal_usages (created_at, seal_id);
