-- People who administer the whole platform in the console. (The API's platform
-- administration is a client with scope admin.) The operator grants it with
-- `tongban admin platform-admin`; the audit trail records it.
CREATE TABLE platform_admins (
    subject_id  TEXT PRIMARY KEY NOT NULL REFERENCES subjects (id),
    granted_at  INTEGER NOT NULL,
    granted_by  TEXT NOT NULL
);
