//! Sealed copies of a certificate for the department that issued it (to print at the
//! counter, to attach to a case file): the rendition its type chooses, or the one
//! asked for. Each is a use of a seal, recorded with the staff member or system.

use tongban_crypto::pki::Pki;
use tongban_seal::pdf::Sealed;
use tongban_seal::permissions::Actor;
use tongban_store::Store;

use crate::catalogue::{self, Rendition};
use crate::error::EcertError;
use crate::identifier::Identifier;
use crate::{ofd_rendition, permissions, register, rendition};

/// A sealed copy.
pub enum Copy {
    /// A PDF sealed PAdES B-T.
    Pdf(Sealed),
    /// An OFD document sealed GB/T 38540.
    Ofd(Vec<u8>),
}

/// A sealed copy of certificate `identifier` in `format` (default: its type's), for
/// `actor` of the issuing department who may issue its certificates.
pub async fn department_copy(
    store: &Store,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    identifier: &Identifier,
    format: Option<Rendition>,
) -> Result<Copy, EcertError> {
    let (certificate, cert_type) = {
        let mut conn = store.conn().await?;
        let certificate = register::find(&mut conn, identifier).await?;
        permissions::may_issue(&mut conn, actor, certificate.department_id).await?;
        let cert_type = catalogue::by_code(&mut conn, &certificate.type_code).await?;
        (certificate, cert_type)
    };
    match format.unwrap_or(cert_type.rendition) {
        Rendition::Pdf => Ok(Copy::Pdf(
            rendition::sealed(store, pki, base, actor, &certificate).await?,
        )),
        Rendition::Ofd => Ok(Copy::Ofd(
            ofd_rendition::sealed(store, pki, base, actor, &certificate).await?,
        )),
    }
}
