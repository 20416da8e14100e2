//! Unified social credit codes (统一社会信用代码), GB 32100-2015: registration authority
//! (1 character), organisation type (1), region (6 digits), organisation code (9), and a
//! check character — 18 characters from the 31-symbol set `0-9A-Y` without I, O, S, V
//! and Z, the check computed with weights 3^(i−1) mod 31.

use std::fmt;
use std::str::FromStr;

/// The code's alphabet; a character's value is its index.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of positions 1–17: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a text is not a valid unified social credit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters.
    #[error("must be 18 characters")]
    Length,
    /// A character outside `0-9A-Y` without I, O, S, V, Z.
    #[error("may use only digits and the letters A–Y except I, O, S, V")]
    Characters,
    /// The region part (positions 3–8) is not six digits.
    #[error("positions 3 to 8 must be the six-digit region code")]
    Region,
    /// The check character does not match.
    #[error("the check character does not match")]
    CheckCharacter,
}

/// A valid unified social credit code, upper case.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.0)
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim().to_ascii_uppercase();
        let bytes = text.as_bytes();
        if bytes.len() != 18 {
            return Err(UsccError::Length);
        }
        let values = bytes
            .iter()
            .map(|b| ALPHABET.iter().position(|a| a == b).map(|v| v as u32))
            .collect::<Option<Vec<u32>>>()
            .ok_or(UsccError::Characters)?;
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Region);
        }
        let sum: u32 = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err(UsccError::CheckCharacter);
        }
        Ok(Self(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_codes_pass() {
        // The two issuer codes of the GB/T 36904 examples in our e-certificate issue,
        // and a code printed on a business licence.
        for code in [
            "11100000000013338W",
            "11430000006122244L",
            "91350100M000100Y43",
        ] {
            assert!(code.parse::<Uscc>().is_ok(), "{code}");
        }
        assert_eq!(
            "91350100m000100y43".parse::<Uscc>().unwrap().as_str(),
            "91350100M000100Y43"
        );
    }

    #[test]
    fn each_defect_is_named() {
        assert_eq!("9135010".parse::<Uscc>(), Err(UsccError::Length));
        assert_eq!(
            "91350100M000100I43".parse::<Uscc>(),
            Err(UsccError::Characters)
        );
        assert_eq!("9135A100M000100Y43".parse::<Uscc>(), Err(UsccError::Region));
        assert_eq!(
            "91350100M000100Y44".parse::<Uscc>(),
            Err(UsccError::CheckCharacter)
        );
    }
}
