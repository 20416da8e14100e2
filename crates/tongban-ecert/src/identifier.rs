//! E-certificate identifiers (GB/T 36904):
//! `1.2.156.3005.2.<type code>.<issuer USCC>.<serial>.<version>.<check>`, where the
//! check character is ISO 7064 MOD 37,36 (hybrid) over the fields after the prefix,
//! concatenated without dots.

use std::fmt;
use std::str::FromStr;

/// The fixed prefix: the OID arc of Chinese e-licences.
pub const PREFIX: &str = "1.2.156.3005.2";

/// The characters of ISO 7064 MOD 37,36 and their values, in order: `0`–`9` are 0–9 and
/// `A`–`Z` are 10–35. The issue that asked for identifiers suggested A=11…Z=36; with the
/// standard's hybrid algorithm only this mapping reproduces the published examples
/// (`…20230000403.001.U`, `….002.S`), which the tests check.
pub const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

const MODULUS: u32 = 36;

fn value(c: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&a| a == c.to_ascii_uppercase())
        .and_then(|p| u32::try_from(p).ok())
}

/// The ISO 7064 MOD 37,36 check character of `text` (characters of [`ALPHABET`]),
/// or `None` if `text` holds any other character.
pub fn check_character(text: &str) -> Option<char> {
    let mut product = MODULUS;
    for c in text.bytes() {
        let mut sum = (product + value(c)?) % MODULUS;
        if sum == 0 {
            sum = MODULUS;
        }
        product = (sum * 2) % (MODULUS + 1);
    }
    // The check value c makes (product + c) mod 36 equal 1.
    let check = (MODULUS + 1 - product) % MODULUS;
    ALPHABET
        .get(usize::try_from(check).ok()?)
        .map(|&b| char::from(b))
}

/// The parts of an identifier, without its check character.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Identifier {
    /// Type code (GB/T 36902): the defining department's USCC and 3 digits.
    pub type_code: String,
    /// The issuing department's USCC.
    pub issuer_uscc: String,
    /// Serial within the type and issuer: 4-digit year and a 7-digit sequence.
    pub serial: String,
    /// Version, from 1; a re-issue after a change increments it.
    pub version: u32,
}

/// Why text is not an identifier.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Not of the shape `1.2.156.3005.2.<type>.<uscc>.<serial>.<version>.<check>`.
    #[error("not an e-certificate identifier: {0}")]
    Shape(&'static str),
    /// The check character does not match.
    #[error("the check character is wrong (expected {expected})")]
    Check {
        /// The right one.
        expected: char,
    },
}

impl Identifier {
    /// The fields after the prefix, concatenated without dots: what the check covers.
    fn checked_text(&self) -> String {
        format!(
            "{}{}{}{:03}",
            self.type_code, self.issuer_uscc, self.serial, self.version
        )
    }

    /// The check character.
    pub fn check(&self) -> char {
        // Every part is built or parsed from ALPHABET characters only.
        check_character(&self.checked_text()).unwrap_or('0')
    }

    /// The same certificate's next version.
    pub fn next_version(&self) -> Self {
        Self {
            version: self.version + 1,
            ..self.clone()
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{PREFIX}.{}.{}.{}.{:03}.{}",
            self.type_code,
            self.issuer_uscc,
            self.serial,
            self.version,
            self.check()
        )
    }
}

fn alphanumeric(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| value(b).is_some())
}

impl FromStr for Identifier {
    type Err = IdentifierError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let rest = text
            .strip_prefix(PREFIX)
            .and_then(|r| r.strip_prefix('.'))
            .ok_or(IdentifierError::Shape("it must start with 1.2.156.3005.2."))?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts[..] else {
            return Err(IdentifierError::Shape(
                "it needs type code, issuer, serial, version and check character",
            ));
        };
        if type_code.len() != 21 || !type_code.is_ascii() || !alphanumeric(type_code) {
            return Err(IdentifierError::Shape(
                "the type code is 21 letters and digits",
            ));
        }
        if issuer.len() != 18 || !alphanumeric(issuer) {
            return Err(IdentifierError::Shape("the issuer is an 18-character USCC"));
        }
        if serial.len() > 32 || !alphanumeric(serial) {
            return Err(IdentifierError::Shape(
                "the serial is up to 32 letters and digits",
            ));
        }
        if version.len() != 3 || !version.bytes().all(|b| b.is_ascii_digit()) {
            return Err(IdentifierError::Shape("the version is 3 digits"));
        }
        let id = Self {
            type_code: type_code.to_ascii_uppercase(),
            issuer_uscc: issuer.to_ascii_uppercase(),
            serial: serial.to_ascii_uppercase(),
            version: version
                .parse()
                .map_err(|_| IdentifierError::Shape("the version is 3 digits"))?,
        };
        let expected = id.check();
        if check.len() != 1 || !check.eq_ignore_ascii_case(&expected.to_string()) {
            return Err(IdentifierError::Check { expected });
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &str = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U";
    const SECOND: &str =
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S";

    #[test]
    fn the_published_examples_check() {
        for (text, version, check) in [(FIRST, 1, 'U'), (SECOND, 2, 'S')] {
            let id: Identifier = text.parse().unwrap();
            assert_eq!(id.version, version);
            assert_eq!(id.check(), check);
            assert_eq!(id.to_string(), text);
        }
        let first: Identifier = FIRST.parse().unwrap();
        assert_eq!(first.next_version().to_string(), SECOND);
    }

    #[test]
    fn a_wrong_check_character_or_shape_is_refused() {
        let wrong = FIRST.replace(".U", ".V");
        assert_eq!(
            wrong.parse::<Identifier>(),
            Err(IdentifierError::Check { expected: 'U' })
        );
        // One changed digit in the serial changes the check.
        let changed = FIRST.replace("20230000403", "20230000404");
        assert!(matches!(
            changed.parse::<Identifier>(),
            Err(IdentifierError::Check { .. })
        ));
        for bad in [
            "",
            "1.2.156.3005.2",
            "1.2.156.3005.2.111.114.2023.001.U",
            "2.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023-0000403.001.U",
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.1.U",
            "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U.X",
        ] {
            assert!(bad.parse::<Identifier>().is_err(), "{bad}");
        }
    }

    #[test]
    fn every_single_substitution_is_detected() {
        // MOD 37,36 detects all single-character substitutions.
        let base = "11100000000013338W01111430000006122244L20230000403001";
        let check = check_character(base).unwrap();
        for i in 0..base.len() {
            for &c in ALPHABET {
                let mut changed = base.as_bytes().to_vec();
                if changed[i] == c {
                    continue;
                }
                changed[i] = c;
                let changed = String::from_utf8(changed).unwrap();
                assert_ne!(check_character(&changed).unwrap(), check, "{changed}");
            }
        }
    }
}
