//! What each fuzz target runs on its input, kept here so that the targets in
//! `tests/fuzz` (cargo-fuzz, libFuzzer) and the replay of their corpus in `cargo test`
//! run the same code. One function per target, each feeding arbitrary bytes to the
//! readers that take outside input: what they must never do is panic, loop or
//! allocate without bound. Results are read only so far as to reach more code.

mod documents;
mod keys;
mod tokens;

pub use documents::{batch, ofd, pdf_seal, pdf_verify, png, ses};
pub use keys::{cms, path, tsa_request};
pub use tokens::jose;

/// What a target does with one input.
pub type Target = fn(&[u8]);

/// Every target by name: the name is its folder under `tests/fuzz/corpus` and its
/// file under `tests/fuzz/fuzz_targets`.
pub const TARGETS: &[(&str, Target)] = &[
    ("batch", batch),
    ("cms", cms),
    ("jose", jose),
    ("ofd", ofd),
    ("path", path),
    ("pdf_seal", pdf_seal),
    ("pdf_verify", pdf_verify),
    ("png", png),
    ("ses", ses),
    ("tsa_request", tsa_request),
];

/// Splits `data` into at most `n` parts at each `0xff 0x00 0xff` separator, so that one
/// input can carry several values (a certificate and a CRL, a header and claims).
fn parts(data: &[u8], n: usize) -> Vec<&[u8]> {
    const SEPARATOR: &[u8] = &[0xff, 0x00, 0xff];
    let mut out = Vec::new();
    let mut rest = data;
    while out.len() + 1 < n {
        match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                out.push(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => break,
        }
    }
    out.push(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn parts_split_at_the_separator_and_keep_the_rest_whole() {
        let data = b"a\xff\x00\xffb\xff\x00\xffc";
        assert_eq!(parts(data, 2), vec![&b"a"[..], &b"b\xff\x00\xffc"[..]]);
        assert_eq!(parts(data, 3), vec![&b"a"[..], &b"b"[..], &b"c"[..]]);
        assert_eq!(parts(b"abc", 3), vec![&b"abc"[..]]);
    }
}
