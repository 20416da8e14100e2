//! OFD documents (GB/T 33190-2016): the package, its structure as far as sealing and
//! verification need it (the entry file, the document, its pages, the signatures), a
//! writer for the documents the platform renders, and GB/T 38540 signatures placed on
//! pages (§18): `Signature.xml` with the SM3 of every file it protects, the seal file,
//! and an `SES_Signature` over `Signature.xml` in `SignedValue.dat`.

pub mod package;
pub mod signing;
pub mod structure;
pub mod writer;
mod xml;

pub use package::Package;

/// The OFD namespace.
pub const NAMESPACE: &str = "http://www.ofdspec.org/2016";

/// SM3, as `References/@CheckMethod` names it.
pub const SM3_OID: &str = "1.2.156.10197.1.401";

/// SM2 with SM3, as `SignatureMethod` names it.
pub const SM2_SM3_OID: &str = "1.2.156.10197.1.501";

/// Why an OFD document cannot be read, sealed or written.
#[derive(Debug, thiserror::Error)]
pub enum OfdError {
    /// Not a ZIP archive (or a damaged one).
    #[error("not an OFD package (a ZIP archive): {0}")]
    NotZip(String),
    /// More entries than a package may have.
    #[error("the package has {0} entries, more than {max}", max = package::MAX_ENTRIES)]
    TooManyEntries(usize),
    /// The entries inflate past the limit.
    #[error("the package inflates past {0} bytes")]
    TooLarge(u64),
    /// A name that is absolute, has `..`, or is otherwise not a plain path.
    #[error("the package has a file name that leaves it: {0:?}")]
    BadPath(String),
    /// Two entries of one name.
    #[error("the package has two files named {0:?}")]
    Duplicate(String),
    /// A file the structure needs is not there.
    #[error("the package has no {0}")]
    Missing(String),
    /// A file is not the XML it must be.
    #[error("{file}: {reason}")]
    Xml {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// The requested page does not exist.
    #[error("the document has no page {0}")]
    NoSuchPage(u32),
    /// A placement outside the page or of no size.
    #[error("{0}")]
    Placement(String),
    /// The archive could not be written.
    #[error("the package cannot be written: {0}")]
    Write(String),
}

impl OfdError {
    pub(crate) fn xml(file: &str, reason: impl Into<String>) -> Self {
        Self::Xml {
            file: file.to_owned(),
            reason: reason.into(),
        }
    }
}
