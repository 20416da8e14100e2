//! Resident identity card numbers (公民身份号码), GB 11643-1999: six digits of
//! administrative region, eight of birth date (YYYYMMDD), three of sequence (odd for
//! men, even for women), and an ISO 7064 MOD 11-2 check character (0–9 or X).
//!
//! An ID number is personal data: it is validated here, stored for lookup, and never
//! logged or shown in full (see [`ResidentId::masked`]).

use std::fmt;
use std::str::FromStr;

/// Weights of positions 1–17: 2^(17−i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const CHECK: [u8; 11] = *b"10X98765432";
/// First two digits of the region code: the provincial-level divisions.
const PROVINCES: [u8; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// Why a text is not a valid resident ID number. Messages never repeat the number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResidentIdError {
    /// Not 18 characters.
    #[error("must be 18 characters")]
    Length,
    /// A character other than digits (and a final X).
    #[error("must be 17 digits followed by a digit or X")]
    Characters,
    /// The region code names no province.
    #[error("the region code is not a Chinese administrative region")]
    Region,
    /// The birth date is not a real date between 1900 and today.
    #[error("the birth date is not valid")]
    BirthDate,
    /// The check character does not match.
    #[error("the check character does not match")]
    CheckCharacter,
}

/// A valid resident ID number, upper case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResidentId(String);

impl ResidentId {
    /// Validates `text` (a lowercase final x is accepted and normalised) as of `today`
    /// (year, month, day), which bounds the birth date.
    pub fn parse(text: &str, today: (i32, u8, u8)) -> Result<Self, ResidentIdError> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 18 {
            return Err(ResidentIdError::Length);
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(ResidentIdError::Characters);
        }
        let digit = |i: usize| u32::from(bytes[i] - b'0');
        let province = (digit(0) * 10 + digit(1)) as u8;
        if !PROVINCES.contains(&province) {
            return Err(ResidentIdError::Region);
        }
        let number = |range: std::ops::Range<usize>| range.fold(0u32, |n, i| n * 10 + digit(i));
        let (year, month, day) = (
            number(6..10) as i32,
            number(10..12) as u8,
            number(12..14) as u8,
        );
        let real_date = time::Month::try_from(month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
            .is_some();
        if !real_date || year < 1900 || (year, month, day) > today {
            return Err(ResidentIdError::BirthDate);
        }
        let sum: u32 = (0..17).map(|i| digit(i) * WEIGHTS[i]).sum();
        if CHECK[(sum % 11) as usize] != bytes[17] {
            return Err(ResidentIdError::CheckCharacter);
        }
        Ok(Self(text))
    }

    /// The birth date the number carries (checked real by [`Self::parse`]).
    pub fn birth_date(&self) -> Option<time::Date> {
        let number = |range: std::ops::Range<usize>| self.0.get(range)?.parse::<i32>().ok();
        let month = u8::try_from(number(10..12)?).ok()?;
        let day = u8::try_from(number(12..14)?).ok()?;
        time::Date::from_calendar_date(number(6..10)?, time::Month::try_from(month).ok()?, day).ok()
    }

    /// The full number, for storage and registry lookup only.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with the birth date and sequence hidden (`110105********002X`), for
    /// pages and logs where the holder must recognise it but others must not learn it.
    pub fn masked(&self) -> String {
        format!("{}********{}", &self.0[..6], &self.0[14..])
    }
}

/// Never print the full number by accident.
impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

impl FromStr for ResidentId {
    type Err = ResidentIdError;

    /// Validates against today's date (UTC).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let today = time::OffsetDateTime::now_utc().date();
        Self::parse(s, (today.year(), u8::from(today.month()), today.day()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (i32, u8, u8) = (2026, 11, 27);

    #[test]
    fn valid_numbers_pass_and_normalise() {
        assert!(ResidentId::parse("11010519491231002X", TODAY).is_ok());
        assert!(ResidentId::parse("440308199901011234", TODAY).is_ok());
        let lower = ResidentId::parse("11010519491231002x", TODAY).unwrap();
        assert_eq!(lower.as_str(), "11010519491231002X");
        assert_eq!(lower.masked(), "110105********002X");
        assert!(!format!("{lower:?}").contains("19491231"));
    }

    #[test]
    fn each_defect_is_named() {
        use ResidentIdError as E;
        assert_eq!(ResidentId::parse("1101051949123100", TODAY), Err(E::Length));
        assert_eq!(
            ResidentId::parse("11010519491231002Y", TODAY),
            Err(E::Characters)
        );
        assert_eq!(
            ResidentId::parse("1101051949123A002X", TODAY),
            Err(E::Characters)
        );
        assert_eq!(
            ResidentId::parse("99010519491231002X", TODAY),
            Err(E::Region)
        );
        assert_eq!(
            ResidentId::parse("110105194902300021", TODAY),
            Err(E::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("110105203001010021", TODAY),
            Err(E::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("110105194912310021", TODAY),
            Err(E::CheckCharacter)
        );
    }
}
