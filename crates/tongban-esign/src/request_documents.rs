//! A signing request's documents as bytes: the original for the person asked to sign
//! it (or the signed one, once signed), and the signed one for its requester. Who may
//! read the request is [`crate::requests`]'s rule.

use sqlx::Row;
use tongban_identity::caller::Caller;
use tongban_identity::subjects::SubjectId;
use tongban_store::Conn;

use crate::error::SignError;
use crate::requests::{DocumentInfo, for_requester, for_signer};

/// Which bytes of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// As the requester sent it.
    Original,
    /// As signed.
    Signed,
}

pub(crate) async fn bytes_of(
    conn: &mut Conn,
    id: &str,
    position: i64,
    version: Version,
) -> Result<Vec<u8>, SignError> {
    let column = match version {
        Version::Original => "original",
        Version::Signed => "signed",
    };
    let sql = format!(
        "SELECT {column} AS pdf FROM signing_documents WHERE request_id = $1 AND position = $2"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(position)
        .fetch_optional(conn)
        .await?
        .ok_or(SignError::NotFound("document"))?;
    row.try_get::<Option<Vec<u8>>, _>("pdf")?
        .ok_or(SignError::NotFound("document"))
}

/// A document of request `id` for the person asked to sign it (the original).
pub async fn document_for_signer(
    conn: &mut Conn,
    subject: SubjectId,
    id: &str,
    position: i64,
) -> Result<(DocumentInfo, Vec<u8>), SignError> {
    let request = for_signer(conn, subject, id).await?;
    let version = if request.status == "signed" {
        Version::Signed
    } else {
        Version::Original
    };
    let info = request
        .documents
        .into_iter()
        .find(|d| d.position == position)
        .ok_or(SignError::NotFound("document"))?;
    Ok((info, bytes_of(conn, id, position, version).await?))
}

/// A signed document of request `id` for its requester.
pub async fn signed_document(
    conn: &mut Conn,
    caller: &Caller,
    id: &str,
    position: i64,
) -> Result<Vec<u8>, SignError> {
    let request = for_requester(conn, caller, id).await?;
    if request.status != "signed" {
        return Err(SignError::Conflict(format!(
            "the request is {}",
            request.status
        )));
    }
    bytes_of(conn, id, position, Version::Signed).await
}
