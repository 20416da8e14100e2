//! Batch issuance: a job of up to 10 000 rows (JSON or CSV), issued in the background
//! in chunks. Each chunk is one transaction with its certificates and the rows' new
//! states, so a crash in the middle loses or repeats nothing: after a restart the job
//! is taken over when its lease runs out and goes on from the first pending row. The
//! job reports, per row, the identifier issued or the precise errors.

use serde_json::{Value, json};
use sqlx::Row;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_identity::subjects::DepartmentId;
use tongban_seal::permissions::Actor;
use tongban_store::{Conn, Store, StoreError};

use crate::error::{EcertError, FieldError, corrupt, invalid};
use crate::permissions;
use crate::register::{self, HolderRef, Issuing, NewCertificate};

pub use crate::batch_files::{NOTE_PREFIX, failed_csv, rows_from_csv, template_csv};

/// Most rows per job.
pub const MAX_ROWS: usize = 10_000;
/// Rows per transaction.
pub const CHUNK: i64 = 500;
/// How long a worker holds a job without renewing: after a crash, the wait before
/// another worker (or the restarted one) takes over.
pub const LEASE_MS: i64 = 10_000;

/// A batch job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// Id.
    pub id: String,
    /// The type issued.
    pub type_code: String,
    /// The issuing department.
    pub department_id: DepartmentId,
    /// `pending` while rows remain, then `done`.
    pub state: String,
    /// Rows in all.
    pub total: i64,
    /// Rows issued.
    pub issued: i64,
    /// Rows refused.
    pub failed: i64,
    /// Submission time.
    pub created_at: Timestamp,
    /// When the last row was settled.
    pub finished_at: Option<Timestamp>,
}

/// The outcome of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowResult {
    /// 1-based row number.
    pub row: i64,
    /// `pending`, `issued` or `failed`.
    pub state: String,
    /// The certificate issued.
    pub identifier: Option<String>,
    /// Why it was refused.
    pub errors: Vec<FieldError>,
}

const JOB_COLUMNS: &str =
    "id, type_code, department_id, state, total, issued, failed, created_at, finished_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job, EcertError> {
    Ok(Job {
        id: r.try_get("id")?,
        type_code: r.try_get("type_code")?,
        department_id: r
            .try_get::<String, _>("department_id")?
            .parse()
            .map_err(|_| corrupt("department id"))?,
        state: r.try_get("state")?,
        total: r.try_get("total")?,
        issued: r.try_get("issued")?,
        failed: r.try_get("failed")?,
        created_at: Timestamp::from_unix_millis(r.try_get("created_at")?),
        finished_at: r
            .try_get::<Option<i64>, _>("finished_at")?
            .map(Timestamp::from_unix_millis),
    })
}

fn input_json(row: &NewCertificate) -> Value {
    json!({
        "holder": {"id_number": row.holder.id_number, "name": row.holder.name},
        "face": row.face,
    })
}

fn input_from_json(value: &Value) -> Option<NewCertificate> {
    Some(NewCertificate {
        holder: HolderRef {
            id_number: value.pointer("/holder/id_number")?.as_str()?.to_owned(),
            name: value.pointer("/holder/name")?.as_str()?.to_owned(),
        },
        face: value.get("face")?.clone(),
    })
}

/// Accepts a job: checks that `actor` issues `type_code` now, and stores the job and its
/// rows in the caller's transaction. The rows are checked when they are issued.
pub async fn submit(
    conn: &mut Conn,
    actor: &Actor,
    type_code: &str,
    department: Option<DepartmentId>,
    rows: &[NewCertificate],
    now: Timestamp,
) -> Result<Job, EcertError> {
    if rows.is_empty() || rows.len() > MAX_ROWS {
        return Err(invalid("rows", format!("1 to {MAX_ROWS} rows per job")));
    }
    // The right is checked now; the key is loaded by the chunks that sign.
    let (_, department, _) = register::authorize(conn, actor, type_code, department).await?;
    let (client_id, scopes, acr) = match actor {
        Actor::Person {
            client_id,
            scopes,
            acr,
            ..
        } => (client_id.clone(), scopes.join(" "), acr.clone()),
        Actor::Client { client_id, scopes } => (client_id.clone(), scopes.join(" "), None),
    };
    let total = i64::try_from(rows.len()).map_err(|_| corrupt("row count"))?;
    let job = Job {
        id: tongban_core::id::Uuid::now_v7().to_string(),
        type_code: type_code.to_owned(),
        department_id: department,
        state: "pending".into(),
        total,
        issued: 0,
        failed: 0,
        created_at: now,
        finished_at: None,
    };
    sqlx::query(
        "INSERT INTO ecert_jobs (id, type_code, department_id, actor, client_id, scopes, acr, state, total, \
         issued, failed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, 0, 0, $9, $9)",
    )
    .bind(&job.id)
    .bind(type_code)
    .bind(department.to_string())
    .bind(actor.label())
    .bind(client_id)
    .bind(scopes)
    .bind(acr)
    .bind(total)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    // Several rows per statement: ten thousand round trips would dominate.
    for (chunk_no, chunk) in rows.chunks(200).enumerate() {
        let mut placeholders = tongban_store::rows::Placeholders::on(conn);
        let values: Vec<String> = chunk
            .iter()
            .map(|_| format!("({}, 'pending')", placeholders.list(3)))
            .collect();
        let sql = format!(
            "INSERT INTO ecert_job_rows (job_id, row_no, input, state) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (i, row) in chunk.iter().enumerate() {
            let number =
                i64::try_from(chunk_no * 200 + i + 1).map_err(|_| corrupt("row number"))?;
            query = query
                .bind(job.id.clone())
                .bind(number)
                .bind(input_json(row).to_string());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(job)
}

async fn department_of(conn: &mut Conn, id: &str) -> Result<DepartmentId, EcertError> {
    let row = sqlx::query("SELECT department_id FROM ecert_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(EcertError::NotFound("job"))?;
    let department: String = row.try_get(0)?;
    department.parse().map_err(|_| corrupt("department id"))
}

/// A job, for its department's issuers.
pub async fn find(conn: &mut Conn, actor: &Actor, id: &str) -> Result<Job, EcertError> {
    let department = department_of(conn, id).await?;
    permissions::may_issue(conn, actor, department).await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {JOB_COLUMNS} FROM ecert_jobs WHERE id = $1"
    )))
    .bind(id)
    .fetch_one(conn)
    .await?;
    job_from_row(&row)
}

/// A job's rows after row `after`, optionally only those in `state`, at most `limit`.
pub async fn rows(
    conn: &mut Conn,
    actor: &Actor,
    id: &str,
    state: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<RowResult>, EcertError> {
    let department = department_of(conn, id).await?;
    permissions::may_issue(conn, actor, department).await?;
    if let Some(state) = state
        && !["pending", "issued", "failed"].contains(&state)
    {
        return Err(invalid("state", "must be pending, issued or failed"));
    }
    let rows = sqlx::query(
        "SELECT row_no, state, identifier, errors FROM ecert_job_rows WHERE job_id = $1 AND row_no > $2 \
         AND ($3 IS NULL OR state = $3) ORDER BY row_no LIMIT $4",
    )
    .bind(id)
    .bind(after)
    .bind(state)
    .bind(limit.clamp(1, 1000))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let errors: Option<String> = r.try_get("errors")?;
            Ok(RowResult {
                row: r.try_get("row_no")?,
                state: r.try_get("state")?,
                identifier: r.try_get("identifier")?,
                errors: errors
                    .map(|e| serde_json::from_str::<Vec<Value>>(&e))
                    .transpose()
                    .map_err(|_| corrupt("row errors"))?
                    .unwrap_or_default()
                    .iter()
                    .map(|e| FieldError {
                        pointer: e["pointer"].as_str().unwrap_or_default().to_owned(),
                        message: e["message"].as_str().unwrap_or_default().to_owned(),
                    })
                    .collect(),
            })
        })
        .collect()
}

fn row_errors(error: &EcertError) -> Vec<FieldError> {
    match error {
        EcertError::Face(fields) => fields
            .iter()
            .map(|f| FieldError {
                pointer: format!("/face{}", f.pointer),
                message: f.message.clone(),
            })
            .collect(),
        EcertError::Invalid { field, reason } => vec![FieldError {
            pointer: format!("/{}", field.replace('.', "/")),
            message: reason.clone(),
        }],
        other => vec![FieldError {
            pointer: String::new(),
            message: other.to_string(),
        }],
    }
}

/// The actor a job acts as: its submitter, with the scopes and level they had.
fn actor_of(row: &sqlx::any::AnyRow) -> Result<Actor, EcertError> {
    let label: String = row.try_get("actor")?;
    let client_id: String = row.try_get("client_id")?;
    let scopes: String = row.try_get("scopes")?;
    let scopes = scopes.split_whitespace().map(str::to_owned).collect();
    match label.split_once(':') {
        Some(("client", _)) => Ok(Actor::Client { client_id, scopes }),
        Some(("subject", subject)) => Ok(Actor::Person {
            subject: subject.parse().map_err(|_| corrupt("job actor"))?,
            client_id,
            scopes,
            acr: row.try_get("acr")?,
        }),
        _ => Err(corrupt("job actor")),
    }
}

/// Claims a job that needs a worker (new, or its worker's lease ran out).
async fn claim(store: &Store, owner: &str, now: Timestamp) -> Result<Option<String>, EcertError> {
    let mut conn = store.conn().await?;
    let candidate = sqlx::query(
        "SELECT id FROM ecert_jobs WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY created_at LIMIT 1",
    )
    .bind(now.unix_millis())
    .fetch_optional(&mut *conn)
    .await?;
    let Some(candidate) = candidate else {
        return Ok(None);
    };
    let id: String = candidate.try_get(0)?;
    let claimed = sqlx::query(
        "UPDATE ecert_jobs SET lease_owner = $1, lease_until = $2 WHERE id = $3 AND state = 'pending' \
         AND (lease_until IS NULL OR lease_until < $4)",
    )
    .bind(owner)
    .bind(now.unix_millis() + LEASE_MS)
    .bind(&id)
    .bind(now.unix_millis())
    .execute(&mut *conn)
    .await?;
    Ok((claimed.rows_affected() == 1).then_some(id))
}

/// Issues the next chunk of `job` under `owner`'s lease; false once the job is done or
/// the lease was lost.
async fn chunk(
    store: &Store,
    pki: &Pki,
    base: &str,
    owner: &str,
    job: &str,
) -> Result<bool, EcertError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    // Renewing the lease locks the job's row: two workers never issue the same rows.
    let renewed = sqlx::query(
        "UPDATE ecert_jobs SET lease_until = $1 WHERE id = $2 AND lease_owner = $3 AND state = 'pending'",
    )
    .bind(now.unix_millis() + LEASE_MS)
    .bind(job)
    .bind(owner)
    .execute(&mut *tx)
    .await?;
    if renewed.rows_affected() != 1 {
        return Ok(false);
    }
    let head = sqlx::query(
        "SELECT type_code, department_id, actor, client_id, scopes, acr FROM ecert_jobs WHERE id = $1",
    )
    .bind(job)
    .fetch_one(&mut *tx)
    .await?;
    let pending = sqlx::query(
        "SELECT row_no, input FROM ecert_job_rows WHERE job_id = $1 AND state = 'pending' ORDER BY row_no LIMIT $2",
    )
    .bind(job)
    .bind(CHUNK)
    .fetch_all(&mut *tx)
    .await?;
    if pending.is_empty() {
        sqlx::query(
            "UPDATE ecert_jobs SET state = 'done', finished_at = $1, updated_at = $1, lease_owner = NULL, \
             lease_until = NULL WHERE id = $2",
        )
        .bind(now.unix_millis())
        .bind(job)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        return Ok(false);
    }
    let actor = actor_of(&head)?;
    let type_code: String = head.try_get("type_code")?;
    let department: String = head.try_get("department_id")?;
    let department: DepartmentId = department.parse().map_err(|_| corrupt("job department"))?;
    let mut numbers = Vec::with_capacity(pending.len());
    let mut inputs = Vec::with_capacity(pending.len());
    for row in &pending {
        let input: String = row.try_get("input")?;
        let parsed = serde_json::from_str::<Value>(&input)
            .ok()
            .and_then(|v| input_from_json(&v))
            .ok_or_else(|| corrupt("job row input"))?;
        numbers.push(row.try_get::<i64, _>("row_no")?);
        inputs.push(parsed);
    }
    let outcomes: Vec<Result<Option<String>, Vec<FieldError>>> =
        match Issuing::open(&mut tx, pki, &actor, &type_code, Some(department)).await {
            // The seal was suspended or the right withdrawn since submission: the
            // remaining rows fail with that reason rather than wait forever.
            Err(
                refused @ (EcertError::Denied(_)
                | EcertError::Conflict(_)
                | EcertError::NotFound(_)),
            ) => inputs.iter().map(|_| Err(row_errors(&refused))).collect(),
            Err(other) => return Err(other),
            Ok(issuing) => match issuing
                .issue_many(&mut tx, base, &actor, &inputs, now)
                .await
            {
                Ok(results) => results
                    .into_iter()
                    .map(|r| r.map(|c| Some(c.identifier)).map_err(|e| row_errors(&e)))
                    .collect(),
                // Used-up serials will not come back on a retry: the rows fail, and
                // the job ends instead of being retried for ever.
                Err(refused @ EcertError::Conflict(_)) => {
                    inputs.iter().map(|_| Err(row_errors(&refused))).collect()
                }
                Err(other) => return Err(other),
            },
        };
    let (mut issued, mut failed) = (0i64, 0i64);
    let mut settled = Vec::with_capacity(numbers.len());
    for (number, outcome) in numbers.iter().zip(outcomes) {
        settled.push(match outcome {
            Ok(identifier) => {
                issued += 1;
                (*number, "issued", identifier, None)
            }
            Err(errors) => {
                failed += 1;
                let list: Vec<Value> = errors
                    .iter()
                    .map(|e| json!({"pointer": e.pointer, "message": e.message}))
                    .collect();
                (
                    *number,
                    "failed",
                    None,
                    Some(Value::Array(list).to_string()),
                )
            }
        });
    }
    // Rows settle in a few statements (an UPDATE per row would be most of the work).
    for part in settled.chunks(200) {
        let mut placeholders = tongban_store::rows::Placeholders::on(&tx);
        let values: Vec<String> = part.iter().map(|_| placeholders.row(4)).collect();
        let job_id = placeholders.take();
        let sql = format!(
            "UPDATE ecert_job_rows AS r SET state = v.column2, identifier = v.column3, errors = v.column4 \
             FROM (VALUES {}) AS v WHERE r.job_id = {job_id} AND r.row_no = v.column1",
            values.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (number, state, identifier, errors) in part {
            query = query
                .bind(*number)
                .bind(*state)
                .bind(identifier.clone())
                .bind(errors.clone());
        }
        query = query.bind(job.to_owned());
        query.execute(&mut *tx).await?;
    }
    sqlx::query(
        "UPDATE ecert_jobs SET issued = issued + $1, failed = failed + $2, updated_at = $3 WHERE id = $4",
    )
    .bind(issued)
    .bind(failed)
    .bind(now.unix_millis())
    .bind(job)
    .execute(&mut *tx)
    .await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(true)
}

/// Works on one job until it is done or its lease is lost; false if no job needed a
/// worker. `owner` names this worker in leases.
pub async fn work_once(
    store: &Store,
    pki: &Pki,
    base: &str,
    owner: &str,
) -> Result<bool, EcertError> {
    let Some(job) = claim(store, owner, Timestamp::now()).await? else {
        return Ok(false);
    };
    while chunk(store, pki, base, owner, &job).await? {}
    Ok(true)
}
