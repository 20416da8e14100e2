//! The OFD rendition of a certificate (GB/T 36905 e-licence files are OFD): the face of
//! the PDF rendition — type name, holder, the face fields of the type's layout,
//! validity, issuer, identifier, the QR code of the public status page — on an A4
//! page, sealed with a GB/T 38540 signature by the SM2 seal the issuing department
//! chose for the type's OFD copies, at the place the PDF shows its seal.

use tongban_crypto::pki::Pki;
use tongban_identity::subjects::SubjectId;
use tongban_seal::ofd::signing::Placement;
use tongban_seal::ofd::writer::{Paint, Writer, text_width};
use tongban_seal::ofd_sealing;
use tongban_seal::permissions::Actor;
use tongban_seal::sign::Authority;
use tongban_store::Store;

use crate::catalogue;
use crate::error::EcertError;
use crate::qr;
use crate::register::Certificate;
use crate::rendition::{self, Face, SEAL_PLACEMENT, date};

/// A4 in millimetres.
const WIDTH: f64 = 210.0;
const HEIGHT: f64 = 297.0;

/// PDF points (from the page's bottom, as the PDF rendition lays out) in millimetres.
fn mm(points: f32) -> f64 {
    f64::from(points) * 25.4 / 72.0
}

/// A PDF y (points from the bottom) as an OFD y (mm from the top).
fn from_top(points: f32) -> f64 {
    HEIGHT - mm(points)
}

/// The unsealed document (its package, written).
pub fn render(face: &Face<'_>) -> Result<Vec<u8>, EcertError> {
    let c = face.certificate;
    let mut page = Writer::new(&c.identifier, (WIDTH, HEIGHT));
    let red = [140, 26, 26];
    // The PDF's double frame.
    for (inset, line) in [(28.0, 0.7), (34.0, 0.18)] {
        let [x, y, w, h] = [
            mm(inset),
            mm(inset),
            WIDTH - 2.0 * mm(inset),
            HEIGHT - 2.0 * mm(inset),
        ];
        page.rects([x, y, w, h], &[[0.0, 0.0, w, h]], Paint::Stroke(red, line));
    }
    let centred = |page: &mut Writer, y: f32, size: f32, text: &str| {
        let size_mm = mm(size);
        let x = ((WIDTH - text_width(text, size_mm)) / 2.0).max(mm(36.0));
        page.text(x, from_top(y), size_mm, text);
    };
    centred(&mut page, 760.0, 26.0, &face.cert_type.name_zh);
    centred(&mut page, 734.0, 12.0, &face.cert_type.name_en);
    let mut y = 680.0;
    for (label, value) in face.rows() {
        page.text(mm(80.0), from_top(y), mm(13.0), &label);
        page.text(mm(210.0), from_top(y), mm(13.0), &value);
        y -= 30.0;
    }
    page.text(mm(380.0), from_top(210.0), mm(13.0), face.issuer_name);
    page.text(mm(380.0), from_top(190.0), mm(11.0), &date(c.issued_at));
    page.text(mm(60.0), from_top(48.0), mm(8.0), &face.identifier_line());
    // The QR code, as in the PDF: 110 points wide, its top at 190 points.
    let (width, dark) = qr::modules(face.qr_text)?;
    let module = mm(110.0) / width as f64;
    let modules: Vec<[f64; 4]> = dark
        .into_iter()
        .map(|(x, y)| [x as f64 * module, y as f64 * module, module, module])
        .collect();
    let side = mm(110.0);
    page.rects(
        [mm(60.0), from_top(190.0), side, side],
        &modules,
        Paint::Fill([0, 0, 0]),
    );
    page.text(mm(60.0), from_top(64.0), mm(9.0), "扫码核验 Scan to verify");
    let created = date(c.issued_at);
    let package = page.finish(&c.id.replace('-', ""), &created);
    package
        .write()
        .map_err(|e| crate::error::corrupt(&format!("OFD rendition: {e}")))
}

/// The sealed OFD rendition of certificate `id` for `holder` who holds it (or acts
/// for the company that does), on behalf of `actor`.
pub async fn holder_copy(
    store: &Store,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    holder: SubjectId,
    id: &str,
) -> Result<Vec<u8>, EcertError> {
    let certificate = rendition::holder_certificate(store, holder, id).await?;
    sealed(store, pki, base, actor, &certificate).await
}

/// The sealed OFD rendition of `certificate`, for `actor` (recorded in the seal's
/// usage log), on the authority of the issuing department's choice of seal.
pub async fn sealed(
    store: &Store,
    pki: &Pki,
    base: &str,
    actor: &Actor,
    certificate: &Certificate,
) -> Result<Vec<u8>, EcertError> {
    rendition::in_force(certificate)?;
    let (cert_type, seal) = {
        let mut conn = store.conn().await?;
        let cert_type = catalogue::by_code(&mut conn, &certificate.type_code).await?;
        let seal = catalogue::ofd_seal(&mut conn, &cert_type.id, certificate.department_id).await?;
        (cert_type, seal)
    };
    let seal = seal.ok_or_else(|| {
        EcertError::Conflict(
            "the issuing department has not chosen an SM2 seal for OFD copies of this type".into(),
        )
    })?;
    let qr_text = rendition::status_url(base, &certificate.identifier);
    let document = render(&Face {
        cert_type: &cert_type,
        certificate,
        holder_name: &certificate.holder_name,
        issuer_name: &certificate.issuer.1,
        qr_text: &qr_text,
    })?;
    // The PDF's seal place: lower-left (x, y) and size in points.
    let (x, y, size) = SEAL_PLACEMENT;
    let placement = Placement::Single {
        page: 1,
        x: mm(x),
        y: from_top(y + size),
        width: Some(mm(size)),
    };
    let purpose = format!("e-certificate rendition {}", certificate.identifier);
    let how = (seal, Authority::Designated);
    let checked = ofd_sealing::check_ofd(store, actor, how, Some(&purpose)).await?;
    Ok(ofd_sealing::seal_ofd(store, pki, checked, document, placement, None).await?)
}
