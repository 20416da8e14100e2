//! Documents people upload: PDF and OFD to seal or to verify, GB/T 38540 signatures
//! and seals, seal images, and certificate batches.

use std::sync::LazyLock;

use serde_json::{Value, json};
use tongban_core::time::Timestamp;
use tongban_ecert::catalogue::FaceSchema;
use tongban_seal::image::{Planes, decode_png};
use tongban_seal::ofd::{Package, structure};
use tongban_seal::pdf::{
    self, Anchor, Anchored, Appearance, Placement, Position, Riding, Statement,
};
use tongban_seal::riding::Edge;

/// A PDF as seal verification reads it before judging any signature value.
pub fn pdf_verify(data: &[u8]) {
    let _ = tongban_seal::validation::read_pdf_signatures(data);
}

/// A PDF a department sends to be sealed: checked, then prepared for the signature at
/// each kind of position (one page, a named spot, across the pages' edge).
pub fn pdf_seal(data: &[u8]) {
    let positions = [
        Position::One(Placement {
            page: 1,
            x: 100.0,
            y: 100.0,
            size: 120.0,
        }),
        Position::Anchored(Anchored {
            page: 2,
            anchor: Anchor::BottomRight,
            size: 120.0,
        }),
        Position::Riding(Riding {
            pages: None,
            edge: Edge::Right,
            y: None,
            size: 120.0,
        }),
    ];
    for position in &positions {
        if pdf::check(data, position).is_ok() {
            let appearance = Appearance::Image(&SEAL_IMAGE);
            let _ = pdf::prepare(data, position, &Statement::default(), appearance, now());
        }
    }
}

/// An OFD package, as verification and sealing read it.
pub fn ofd(data: &[u8]) {
    let _ = tongban_seal::validation::read_ofd_signatures(data);
    if let Ok(package) = Package::read(data)
        && let Ok(read) = structure::read(&package)
    {
        let _ = structure::check_pages(&package, &read);
    }
}

/// A GB/T 38540 electronic seal or electronic signature, decoded and its signatures
/// checked.
pub fn ses(data: &[u8]) {
    if let Ok(seal) = tongban_crypto::ses::Seal::decode(data) {
        let _ = seal.maker_signature_valid();
        let _ = seal.lists(&seal.maker_certificate);
    }
    if let Ok(signature) = tongban_crypto::ses::Signature::decode(data) {
        let _ = signature.value_valid();
    }
}

/// A seal image a seal administrator uploads.
pub fn png(data: &[u8]) {
    let _ = decode_png(data);
}

/// Certificate batch input: by the first byte, rows of CSV for a fixed type, a face
/// in JSON checked against that type's schema, or a JSON Schema a department defines.
pub fn batch(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    match kind % 3 {
        0 => {
            let text = String::from_utf8_lossy(rest);
            if let Ok(rows) = tongban_ecert::batch_files::rows_from_csv(&SCHEMA, &text)
                && let Some(schema) = COMPILED.as_ref()
            {
                rows.iter().for_each(|row| {
                    let _ = schema.check(&row.face);
                });
            }
        }
        1 => {
            if let (Ok(face), Some(schema)) =
                (serde_json::from_slice::<Value>(rest), COMPILED.as_ref())
            {
                let _ = schema.check(&face);
            }
        }
        _ => {
            if let Ok(schema) = serde_json::from_slice::<Value>(rest)
                && let Ok(compiled) = FaceSchema::compile(&schema)
            {
                let _ = compiled.check(&json!({"name": "张三", "valid_until": "2030-01-01"}));
            }
        }
    }
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(1_800_000_000_000)
}

/// A licence type's face, with each kind of field a type can have.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["licence_no", "valid_until"],
        "properties": {
            "licence_no": {"type": "string", "maxLength": 32, "pattern": "^[A-Z0-9-]+$"},
            "valid_until": {"type": "string", "format": "date"},
            "scope": {"type": "string", "enum": ["批发", "零售"]},
            "staff": {"type": "integer", "minimum": 0},
            "chain": {"type": "boolean"}
        },
        "additionalProperties": false
    })
});

/// [`SCHEMA`], compiled once: each input is checked against it, not recompiled.
static COMPILED: LazyLock<Option<FaceSchema>> = LazyLock::new(|| FaceSchema::compile(&SCHEMA).ok());

/// The smallest seal image allowed, opaque red.
static SEAL_IMAGE: LazyLock<Planes> = LazyLock::new(|| {
    let side = *tongban_seal::image::SIDES.start();
    let pixels = (side * side) as usize;
    Planes {
        width: side,
        height: side,
        rgb: [200u8, 16, 16].repeat(pixels),
        alpha: vec![255; pixels],
    }
});
