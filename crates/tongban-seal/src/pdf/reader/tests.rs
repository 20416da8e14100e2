//! The reader on documents as ISO 32000-1 writes them, and on broken ones.

use super::*;
use crate::pdf::tests::sample;
use lopdf::StringFormat;

fn parse(text: &[u8]) -> Result<Object, Malformed> {
    Lexer::new(text, 0).object(0)
}

#[test]
fn objects_parse_as_iso_32000_writes_them() {
    let object = parse(
        b"<< /Type /Page /N#20ame (a \\(b\\) (c)\\n\\101\\\n!) /H <48 49 5> /R 12 0 R \
          /A [1 -2 +3.5 .5 true false null 7 0] %comment\n /D << /X /Y >> >>",
    )
    .unwrap();
    let Object::Dictionary(dict) = object else {
        panic!("not a dictionary")
    };
    assert_eq!(dict.get(b"Type").unwrap(), &Object::Name(b"Page".to_vec()));
    assert!(dict.has(b"N ame"));
    assert_eq!(
        dict.get(b"N ame").unwrap(),
        &Object::String(b"a (b) (c)\nA!".to_vec(), StringFormat::Literal)
    );
    assert_eq!(
        dict.get(b"H").unwrap(),
        &Object::String(b"HIP".to_vec(), StringFormat::Hexadecimal)
    );
    assert_eq!(dict.get(b"R").unwrap(), &Object::Reference((12, 0)));
    assert_eq!(
        dict.get(b"A").unwrap(),
        &Object::Array(vec![
            Object::Integer(1),
            Object::Integer(-2),
            Object::Real(3.5),
            Object::Real(0.5),
            Object::Boolean(true),
            Object::Boolean(false),
            Object::Null,
            Object::Integer(7),
            Object::Integer(0),
        ])
    );
    assert!(dict.get(b"D").unwrap().as_dict().unwrap().has(b"X"));
}

#[test]
fn bad_syntax_is_an_error_not_a_panic() {
    for text in [
        &b"<< /A"[..],
        b"(unclosed",
        b"<4G>",
        b"[1 2",
        b"-",
        b".",
        b"endobj",
        b"<< 1 2 >>",
        b"99999999999999999999",
    ] {
        assert!(parse(text).is_err(), "{}", String::from_utf8_lossy(text));
    }
    let deep = [b"[".repeat(10_000), b"]".repeat(10_000)].concat();
    assert!(parse(&deep).is_err());
}

#[test]
fn tables_and_cross_reference_streams_lead_to_the_pages() {
    for modern in [false, true] {
        let pdf = sample(3, 10, modern);
        let reader = Reader::open(&pdf).unwrap_or_else(|e| panic!("{modern}: {e}"));
        assert_eq!(reader.newest().is_stream, modern);
        if modern {
            assert!(
                reader
                    .table
                    .values()
                    .any(|e| matches!(e, Entry::InStream { .. })),
                "save_modern puts dictionaries in object streams"
            );
        }
        let (id, page, media_box) = reader.page(3).unwrap().unwrap();
        assert_eq!(page.get(b"Type").unwrap().as_name().unwrap(), b"Page");
        assert!(media_box.is_some(), "inherited from the tree");
        assert!(reader.page(4).unwrap().is_none());
        assert!(reader.page(0).unwrap().is_none());
        let contents = page.get(b"Contents").unwrap().as_reference().unwrap();
        let Object::Stream(stream) = reader.get(contents).unwrap() else {
            panic!("not a stream")
        };
        assert!(stream.content.is_empty(), "stream data is not copied");
        assert!(reader.get_located(contents).unwrap().1.is_some());
        assert_ne!(reader.get(id).unwrap(), Object::Null);
        assert!(reader.next_number() > id.0);
    }
}

/// A hybrid-reference file (ISO 32000-1 §7.5.8.4): object 4 is free in the table
/// and compressed in object stream 5, which the stream at /XRefStm names.
fn hybrid() -> Vec<u8> {
    let mut pdf = b"%PDF-1.5\n".to_vec();
    let mut offsets = Vec::new();
    let member = b"4 0 << /Hidden true >>";
    let xref_stream = [2u8, 0, 5, 0];
    let bodies: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Resources 4 0 R >>".to_vec(),
        [
            format!(
                "<< /Type /ObjStm /N 1 /First 4 /Length {} >>\nstream\n",
                member.len()
            )
            .into_bytes(),
            member.to_vec(),
            b"\nendstream".to_vec(),
        ]
        .concat(),
        [
            b"<< /Type /XRef /W [1 2 1] /Index [4 1] /Size 7 /Length 4 >>\nstream\n".to_vec(),
            xref_stream.to_vec(),
            b"\nendstream".to_vec(),
        ]
        .concat(),
    ];
    for (number, body) in [1, 2, 3, 5, 6].into_iter().zip(bodies) {
        offsets.push((number, pdf.len()));
        pdf.extend_from_slice(format!("{number} 0 obj\n").as_bytes());
        pdf.extend_from_slice(&body);
        pdf.extend_from_slice(b"\nendobj\n");
    }
    let table = pdf.len();
    pdf.extend_from_slice(b"xref\n0 7\n0000000000 65535 f\r\n");
    for number in 1..7 {
        match offsets.iter().find(|(n, _)| *n == number) {
            Some((_, at)) => pdf.extend_from_slice(format!("{at:010} 00000 n\r\n").as_bytes()),
            None => pdf.extend_from_slice(b"0000000000 65535 f\r\n"),
        }
    }
    let stream_at = offsets[4].1;
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size 7 /Root 1 0 R /XRefStm {stream_at} >>\nstartxref\n{table}\n%%EOF\n"
        )
        .as_bytes(),
    );
    pdf
}

#[test]
fn a_hybrid_file_s_hidden_objects_are_found_in_its_stream() {
    let pdf = hybrid();
    let reader = Reader::open(&pdf).unwrap_or_else(|e| panic!("{e}"));
    assert!(!reader.newest().is_stream);
    assert_eq!(
        reader.entry(4),
        Some(Entry::InStream {
            stream: 5,
            index: 0
        })
    );
    let (_, page, _) = reader.page(1).unwrap().unwrap();
    let resources = reader.dictionary(page.get(b"Resources").unwrap()).unwrap();
    assert_eq!(resources.get(b"Hidden").unwrap(), &Object::Boolean(true));
}

#[test]
fn every_prefix_and_a_broken_offset_fail_cleanly() {
    for modern in [false, true] {
        let pdf = sample(3, 10, modern);
        for end in 0..pdf.len() - 1 {
            // Truncations are refused or, when a prefix happens to end in a whole
            // revision, read; they never panic.
            if let Ok(reader) = Reader::open(&pdf[..end]) {
                let _ = reader.page(1);
            }
        }
        let at = memchr::memmem::rfind(&pdf, b"startxref").unwrap() + 10;
        let mut broken = pdf.clone();
        broken[at..at + 2].copy_from_slice(b"99");
        assert!(Reader::open(&broken).is_err());
    }
}
