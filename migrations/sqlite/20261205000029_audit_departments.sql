-- The department an audit event belongs to, so a department's administrators read
-- their own trail. Earlier events are attributed where their target says it: an
-- e-certificate (its issuer), a certificate type (its definer), a seal, a department.
ALTER TABLE audit_events ADD COLUMN department_id TEXT;

UPDATE audit_events SET department_id =
    (SELECT e.department_id FROM ecerts e WHERE e.identifier = audit_events.target)
WHERE department_id IS NULL AND action LIKE 'ecert.%';

UPDATE audit_events SET department_id =
    (SELECT t.department_id FROM ecert_types t WHERE t.code = audit_events.target)
WHERE department_id IS NULL AND action LIKE 'ecert.%';

UPDATE audit_events SET department_id =
    (SELECT s.department_id FROM seals s WHERE s.id = audit_events.target)
WHERE department_id IS NULL AND action LIKE 'seal.%';

UPDATE audit_events SET department_id = target
WHERE department_id IS NULL
  AND action IN ('department.created', 'staff.added', 'staff.removed');

CREATE INDEX audit_events_department ON audit_events (department_id, occurred_at);
