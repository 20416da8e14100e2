//! Typed identifiers.
//!
//! Every entity gets its own id type so that a seal id can never be passed where a
//! certificate id is expected. Ids are UUIDv7: time-ordered, so they index well in both
//! engines. They are not secrets: ids made in the same millisecond are close to each
//! other, so nothing may rely on an id being unguessable.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Declares a typed id: a UUIDv7 newtype, stored as its hyphenated text form. The
/// calling crate needs `serde` as a dependency (the derives name it).
#[macro_export]
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $crate::id::Uuid);

        impl $name {
            /// A fresh, time-ordered id.
            pub fn new() -> Self {
                Self($crate::id::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::id::IdParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $crate::id::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| $crate::id::IdParseError { kind: stringify!($name) })
            }
        }
    };
}

pub use uuid::Uuid;

/// A text that is not a valid id of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}")]
pub struct IdParseError {
    /// The id type that was expected.
    pub kind: &'static str,
}

typed_id!(
    /// One entry of the audit trail.
    AuditEventId
);

/// A request id as seen in `X-Request-Id`: either the caller's (if it is a sane token)
/// or one we made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RequestId(String);

impl RequestId {
    /// Longest caller-supplied request id we accept; longer ones are replaced.
    pub const MAX_LEN: usize = 128;

    /// A fresh request id.
    pub fn new() -> Self {
        Self(Uuid::now_v7().hyphenated().to_string())
    }

    /// Accepts a caller's request id only if it is short and made of safe characters,
    /// so that it can be logged and echoed without escaping (no header or log injection).
    pub fn from_caller(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= Self::MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(value.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for RequestId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for RequestId {
    type Err = IdParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_caller(s).ok_or(IdParseError { kind: "RequestId" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_ids_round_trip_through_text() {
        let id = AuditEventId::new();
        let parsed: AuditEventId = id.to_string().parse().expect("parses");
        assert_eq!(id, parsed);
        assert!("not-a-uuid".parse::<AuditEventId>().is_err());
    }

    #[test]
    fn caller_request_ids_are_sanitised() {
        assert!(RequestId::from_caller("abc-123_x.y:z").is_some());
        assert!(RequestId::from_caller("").is_none());
        assert!(RequestId::from_caller("line\nbreak").is_none());
        assert!(RequestId::from_caller("space here").is_none());
        assert!(RequestId::from_caller(&"a".repeat(129)).is_none());
    }
}
