//! The PDF rendition of a certificate (版式文件): one A4 page with the type's name,
//! the face fields of the type's layout, the holder, the issuing department, the
//! validity, the identifier and a QR code of the public status page, sealed (PAdES
//! B-T, the seal visible) with the seal that signed the credential.
//!
//! Text uses the standard Chinese font STSong-Light (Adobe-GB1, UniGB-UTF16-H), which
//! PDF readers supply; nothing has to be embedded, so the service needs no font file.

use lopdf::{Document, Object, Stream, dictionary};
use serde_json::Value;
use tongban_core::time::Timestamp;
use tongban_crypto::pki::Pki;
use tongban_identity::subjects::SubjectId;
use tongban_seal::pdf::{Placement, Sealed};
use tongban_seal::pdf_sealing;
use tongban_seal::permissions::Actor;
use tongban_seal::sign::{Authority, Format};
use tongban_store::Store;

use crate::catalogue::{self, CertType};
use crate::error::{EcertError, corrupt};
use crate::qr;
use crate::register::Certificate;

/// A4 in PDF points.
const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;

/// Where the seal goes: over the department's name, lower right.
pub const SEAL_PLACEMENT: (f32, f32, f32) = (380.0, 150.0, 140.0);

/// The public status page of a certificate, which the QR code opens.
pub fn status_url(base: &str, identifier: &str) -> String {
    format!("{base}/verify/i/{identifier}")
}

/// Text as a hex string of UTF-16BE code units, for the UniGB-UTF16-H encoding.
fn hex_text(text: &str) -> String {
    let mut out = String::from("<");
    for unit in text.encode_utf16() {
        out.push_str(&format!("{unit:04X}"));
    }
    out.push('>');
    out
}

/// Width of `text` at `size`: CJK full width, ASCII half width (the font's /W).
fn text_width(text: &str, size: f32) -> f32 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.5 } else { 1.0 })
        .sum::<f32>()
        * size
}

struct Page {
    content: String,
}

impl Page {
    fn text(&mut self, x: f32, y: f32, size: f32, text: &str) {
        self.content.push_str(&format!(
            "BT /F1 {size} Tf {x:.1} {y:.1} Td {} Tj ET\n",
            hex_text(text)
        ));
    }

    fn centred(&mut self, y: f32, size: f32, text: &str) {
        let x = (WIDTH - text_width(text, size)) / 2.0;
        self.text(x.max(36.0), y, size, text);
    }
}

/// What the page shows.
pub struct Face<'a> {
    /// The type.
    pub cert_type: &'a CertType,
    /// The certificate.
    pub certificate: &'a Certificate,
    /// The holder's name.
    pub holder_name: &'a str,
    /// The issuing department's name.
    pub issuer_name: &'a str,
    /// What the QR code holds.
    pub qr_text: &'a str,
}

impl Face<'_> {
    /// The rows of the face, label and value: the holder, the fields of the type's
    /// layout (labelled by their schema titles), the validity. Both renditions show
    /// these, in this order.
    pub fn rows(&self) -> Vec<(String, String)> {
        let c = self.certificate;
        let mut rows = vec![("持证人 Holder".to_owned(), self.holder_name.to_owned())];
        for field in &self.cert_type.layout {
            let label = self
                .cert_type
                .face_schema
                .pointer(&format!("/properties/{field}/title"))
                .and_then(Value::as_str)
                .unwrap_or(field);
            let value = c.face.get(field).map(value_text).unwrap_or_default();
            rows.push((label.to_owned(), value));
        }
        let until = c
            .valid_until
            .map(date)
            .unwrap_or_else(|| "长期 (until revoked)".into());
        let validity = format!("{} – {until}", date(c.valid_from));
        rows.push(("有效期 Valid".to_owned(), validity));
        rows
    }

    /// The line naming the certificate's identifier, at the foot of the page.
    pub fn identifier_line(&self) -> String {
        format!("证照标识 {}", self.certificate.identifier)
    }
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(crate) fn date(at: Timestamp) -> String {
    let t = at.to_offset_date_time();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// The unsealed page.
pub fn render(face: &Face<'_>) -> Result<Vec<u8>, EcertError> {
    let mut page = Page {
        content: String::new(),
    };
    // A double frame, as printed licences have.
    page.content
        .push_str("0.55 0.1 0.1 RG 2 w 28 28 539 786 re S 0.5 w 34 34 527 774 re S 0 0 0 rg\n");
    page.centred(760.0, 26.0, &face.cert_type.name_zh);
    page.centred(734.0, 12.0, &face.cert_type.name_en);
    let c = face.certificate;
    let mut y = 680.0;
    for (label, value) in face.rows() {
        page.text(80.0, y, 13.0, &label);
        page.text(210.0, y, 13.0, &value);
        y -= 30.0;
    }
    page.text(380.0, 210.0, 13.0, face.issuer_name);
    page.text(380.0, 190.0, 11.0, &date(c.issued_at));
    page.text(60.0, 48.0, 8.0, &face.identifier_line());
    // The QR code, 110 points wide, lower left, drawn as filled modules.
    let (width, dark) = qr::modules(face.qr_text)?;
    let module = 110.0 / width as f32;
    page.content.push_str("q 0 0 0 rg\n");
    for (x, y) in dark {
        page.content.push_str(&format!(
            "{:.2} {:.2} {module:.2} {module:.2} re\n",
            60.0 + x as f32 * module,
            190.0 - (y + 1) as f32 * module
        ));
    }
    page.content.push_str("f Q\n");
    page.text(60.0, 64.0, 9.0, "扫码核验 Scan to verify");

    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let descriptor = doc.add_object(dictionary! {
        "Type" => "FontDescriptor", "FontName" => "STSong-Light", "Flags" => 6,
        "FontBBox" => vec![(-25).into(), (-254).into(), 1000.into(), 880.into()],
        "ItalicAngle" => 0, "Ascent" => 880, "Descent" => -120, "CapHeight" => 880, "StemV" => 93,
    });
    let cid_font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType0", "BaseFont" => "STSong-Light",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("GB1"),
            "Supplement" => 2,
        },
        "FontDescriptor" => descriptor,
        "DW" => 1000,
        "W" => vec![1.into(), 95.into(), 500.into()],
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "STSong-Light",
        "Encoding" => "UniGB-UTF16-H", "DescendantFonts" => vec![cid_font.into()],
    });
    let content = doc.add_object(Stream::new(dictionary! {}, page.content.into_bytes()));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages_id,
        "MediaBox" => vec![0.into(), 0.into(), WIDTH.into(), HEIGHT.into()],
        "Contents" => content,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info = doc.add_object(dictionary! {
        "Title" => Object::string_literal(c.identifier.clone()),
        "Producer" => Object::string_literal("Tongban"),
    });
    doc.trailer.set("Root", catalog);
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| corrupt(&format!("rendition: {e}")))?;
    Ok(out)
}

/// The sealed rendition of certificate `id` for the person `holder` who holds it (or
/// acts for the company that does), on behalf of `actor` (the holder through a wallet
/// client or the account page).
pub async fn holder_copy(
    store: &Store,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    holder: SubjectId,
    id: &str,
) -> Result<Sealed, EcertError> {
    let certificate = holder_certificate(store, holder, id).await?;
    sealed(store, pki, base, actor, &certificate).await
}

/// Certificate `id` of `holder` (or of the company the holder acts for).
pub(crate) async fn holder_certificate(
    store: &Store,
    holder: SubjectId,
    id: &str,
) -> Result<Certificate, EcertError> {
    let mut conn = store.conn().await?;
    crate::holder::certificate(&mut conn, holder, id, Timestamp::now()).await
}

/// A sealed copy looks valid: none is made of a certificate that is not in force.
pub(crate) fn in_force(certificate: &Certificate) -> Result<(), EcertError> {
    match certificate.status_at(Timestamp::now()) {
        "active" => Ok(()),
        status => Err(EcertError::Conflict(format!(
            "no sealed copy of a certificate that is {status}"
        ))),
    }
}

/// The sealed rendition of `certificate`, for `actor` (recorded in the seal's usage
/// log): sealed with the seal that signed its credential, on the authority of the
/// department that designated that seal for the type.
pub async fn sealed(
    store: &Store,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    certificate: &Certificate,
) -> Result<Sealed, EcertError> {
    in_force(certificate)?;
    let (cert_type, seal) = {
        let mut conn = store.conn().await?;
        let cert_type = catalogue::by_code(&mut conn, &certificate.type_code).await?;
        let row = sqlx::query("SELECT seal_id FROM ecerts WHERE id = $1")
            .bind(&certificate.id)
            .fetch_one(&mut *conn)
            .await?;
        use sqlx::Row as _;
        let seal: String = row.try_get("seal_id")?;
        (cert_type, seal)
    };
    let seal = seal.parse().map_err(|_| corrupt("seal id"))?;
    let qr_text = status_url(base, &certificate.identifier);
    let document = render(&Face {
        cert_type: &cert_type,
        certificate,
        holder_name: &certificate.holder_name,
        issuer_name: &certificate.issuer.1,
        qr_text: &qr_text,
    })?;
    let (x, y, size) = SEAL_PLACEMENT;
    let purpose = format!("e-certificate rendition {}", certificate.identifier);
    let pades = (seal, Format::Pades);
    let checked =
        pdf_sealing::check_pdf(store, actor, pades, Some(&purpose), Authority::Designated).await?;
    let sealed = pdf_sealing::seal_pdf(
        store,
        pki,
        checked,
        document.into(),
        Placement {
            page: 1,
            x,
            y,
            size,
        }
        .into(),
        (Some(format!("电子证照 {}", certificate.identifier)), None),
        None,
    )
    .await?;
    Ok(sealed)
}
