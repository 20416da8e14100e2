//! UTC timestamps and the clock.
//!
//! Timestamps are stored as milliseconds since the Unix epoch (UTC) in a 64-bit integer
//! column: the one representation both SQLite and PostgreSQL hold, compare and index the
//! same way. In JSON they appear as RFC 3339 strings.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An instant in UTC with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `millis` milliseconds after the Unix epoch.
    pub const fn from_unix_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch, as stored in the database.
    pub const fn unix_millis(self) -> i64 {
        self.0
    }

    /// The current instant from the system clock.
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    /// This instant as a `time` value in UTC.
    pub fn to_offset_date_time(self) -> OffsetDateTime {
        // i64 milliseconds cover ±292 million years; `time` covers ±9999 years, so clamp
        // to its range rather than fail on a corrupt value.
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(if self.0 < 0 {
            OffsetDateTime::UNIX_EPOCH
        } else {
            time::macros::datetime!(9999-12-31 23:59:59.999 UTC)
        })
    }

    /// The instant written as RFC 3339 text (any offset), if it is one.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        OffsetDateTime::parse(text, &Rfc3339).ok().map(Self::from)
    }

    /// RFC 3339 text, e.g. `2026-11-27T17:18:10.123Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_offset_date_time()
            .format(&Rfc3339)
            .unwrap_or_else(|_| self.0.to_string())
    }
}

impl From<OffsetDateTime> for Timestamp {
    fn from(value: OffsetDateTime) -> Self {
        let millis = value.unix_timestamp_nanos() / 1_000_000;
        Self(i64::try_from(millis).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&text)
            .ok_or_else(|| serde::de::Error::custom("not an RFC 3339 date and time"))
    }
}

/// Where "now" comes from. Domain code takes a clock instead of calling the system
/// clock, so that expiry and validity rules can be tested at any instant.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The system's real-time clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_milliseconds() {
        let t = Timestamp::from_unix_millis(1_795_800_000_123);
        let text = t.to_rfc3339();
        assert_eq!(text, "2026-11-27T17:20:00.123Z");
        let back = OffsetDateTime::parse(&text, &Rfc3339).map(Timestamp::from);
        assert_eq!(back.expect("parses"), t);
    }

    #[test]
    fn out_of_range_values_do_not_panic() {
        let _ = Timestamp::from_unix_millis(i64::MAX).to_rfc3339();
        let _ = Timestamp::from_unix_millis(i64::MIN).to_rfc3339();
    }
}
