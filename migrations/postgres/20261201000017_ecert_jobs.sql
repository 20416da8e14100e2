-- Batch issuance: a job and its rows. Rows are issued in chunks, each chunk in one
-- transaction with its certificates, so a crash loses or repeats nothing; a job whose
-- worker stopped renewing its lease is taken over (by this or another instance).
CREATE TABLE ecert_jobs (
    id             TEXT PRIMARY KEY NOT NULL,
    type_code      TEXT NOT NULL,
    department_id  TEXT NOT NULL REFERENCES departments (id),
    actor          TEXT NOT NULL,            -- subject:<id> or client:<id>
    client_id      TEXT NOT NULL,
    scopes         TEXT NOT NULL,            -- space-separated, as granted to the submitter
    acr            TEXT,
    state          TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    total          BIGINT NOT NULL,
    issued         BIGINT NOT NULL,
    failed         BIGINT NOT NULL,
    lease_owner    TEXT,                     -- the worker holding the job
    lease_until    BIGINT,                  -- until then
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    finished_at    BIGINT
);
CREATE INDEX ecert_jobs_state ON ecert_jobs (state, created_at);

CREATE TABLE ecert_job_rows (
    job_id          TEXT NOT NULL REFERENCES ecert_jobs (id),
    row_no          BIGINT NOT NULL,        -- 1-based, as the submitter counts rows
    input           TEXT NOT NULL,           -- JSON: holder and face
    state           TEXT NOT NULL CHECK (state IN ('pending', 'issued', 'failed')),
    identifier      TEXT,
    errors          TEXT,                    -- JSON array of {pointer, message}
    PRIMARY KEY (job_id, row_no)
);
CREATE INDEX ecert_job_rows_state ON ecert_job_rows (job_id, state, row_no);
