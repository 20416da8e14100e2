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

/// The JOSE form (r‖s, 32 bytes each) of a DER `SEQUENCE { r, s }` with 256-bit
/// positive, minimally encoded integers and nothing after it; none for anything else.
pub(crate) fn ecdsa_der_to_fixed(der: &[u8]) -> Option<Vec<u8>> {
    let body = match der {
        [0x30, len, body @ ..] if usize::from(*len) == body.len() && *len < 0x80 => body,
        _ => return None,
    };
    let (r, rest) = der_integer_32(body)?;
    let (s, rest) = der_integer_32(rest)?;
    rest.is_empty().then(|| [r, s].concat())
}

/// A DER INTEGER of at most 256 bits, positive and minimal, left-padded to 32 bytes;
/// with what follows it.
fn der_integer_32(input: &[u8]) -> Option<([u8; 32], &[u8])> {
    let [0x02, len, rest @ ..] = input else {
        return None;
    };
    let len = usize::from(*len);
    if len == 0 || len > 33 || rest.len() < len {
        return None;
    }
    let (value, rest) = rest.split_at(len);
    let negative = value[0] & 0x80 != 0;
    let padded = value[0] == 0 && value.get(1).is_some_and(|b| b & 0x80 != 0);
    let needless_zero = value[0] == 0 && !padded && len > 1;
    if negative || needless_zero || (len == 33 && !padded) {
        return None;
    }
    let magnitude = if padded { &value[1..] } else { value };
    let mut out = [0u8; 32];
    out[32 - magnitude.len()..].copy_from_slice(magnitude);
    Some((out, rest))
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
        assert_eq!(ecdsa_der_to_fixed(&der).as_deref(), Some(&fixed[..]));
    }

    #[test]
    fn only_a_strict_signature_converts_back() {
        let mut fixed = [0x11u8; 64];
        fixed[0] = 0x80;
        let der = ecdsa_fixed_to_der(&fixed);
        assert_eq!(ecdsa_der_to_fixed(&der).as_deref(), Some(&fixed[..]));
        let trailing = [der.as_slice(), &[0]].concat();
        let negative = [0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01];
        let padded = [0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01];
        for bad in [
            &der[..der.len() - 1],
            &trailing[..],
            &negative[..],
            &padded[..],
            &[][..],
        ] {
            assert_eq!(ecdsa_der_to_fixed(bad), None, "{bad:02x?}");
        }
    }
}
