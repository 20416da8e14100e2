//! Small DER helpers shared by the X.509, CMS and TSA code.

/// Converts an ECDSA signature from JOSE form (r‖s, 32 bytes each) to the DER
/// `Ecdsa-Sig-Value` that X.509 and CMS use (RFC 3279 §2.2.3).
pub(crate) fn ecdsa_fixed_to_der(fixed: &[u8]) -> Vec<u8> {
    let half = fixed.len() / 2;
    let r = der_unsigned_integer(&fixed[..half]);
    let s = der_unsigned_integer(&fixed[half..]);
    let mut body = r;
    body.extend_from_slice(&s);
    let mut out = vec![0x30];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn der_unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    let trimmed = &bytes[start..];
    let pad = trimmed.first().is_some_and(|b| b & 0x80 != 0);
    let mut out = vec![0x02];
    push_len(&mut out, trimmed.len() + usize::from(pad));
    if pad {
        out.push(0);
    }
    out.extend_from_slice(trimmed);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|b| *b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        let mut fixed = [0u8; 64];
        fixed[31] = 1; // r = 1
        fixed[32] = 0x80; // s has its high bit set: needs a leading zero
        let der = ecdsa_fixed_to_der(&fixed);
        assert_eq!(&der[..5], &[0x30, 3 + 35, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], &[0x02, 33, 0x00]);
    }
}
