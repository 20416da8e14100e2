//! What the Rust interop tests share: a scratch directory, openssl, and the Python of
//! `tests/interop/.venv`.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tongban_crypto::pki::der_to_pem;

use crate::support::{self, TestServer};

/// A scratch directory, removed afterwards.
pub struct Workdir(PathBuf);

impl Workdir {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tongban-interop-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn pem(&self, name: &str, ders: &[&[u8]]) -> PathBuf {
        let text: String = ders.iter().map(|d| der_to_pem("CERTIFICATE", d)).collect();
        self.write(name, text)
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs openssl; returns (success, stdout + stderr).
pub fn openssl(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (bool, String) {
    let output = Command::new("openssl")
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("openssl is installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// `openssl ts -verify` of `reply` against `-data` (a document) or `-queryfile` (the
/// query), trusting `root` with `untrusted` as intermediates.
pub fn ts_verify(
    against: &str,
    input: &Path,
    reply: &Path,
    root: &Path,
    untrusted: &Path,
) -> (bool, String) {
    openssl(&[
        &"ts",
        &"-verify",
        &against,
        &input,
        &"-in",
        &reply,
        &"-CAfile",
        &root,
        &"-untrusted",
        &untrusted,
    ])
}

/// The interop venv's Python (with jwcrypto).
pub fn python() -> PathBuf {
    std::env::var_os("TONGBAN_INTEROP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| support::repo_root().join("tests/interop/.venv/bin/python"))
}

/// A server that knows its own URL, so that the CRL and CA URLs in its certificates
/// resolve for validators that fetch them.
pub async fn public_server() -> TestServer {
    public_server_with(|_| {}).await
}

/// Like [`public_server`], its configuration changed by `adjust`.
pub async fn public_server_with(
    adjust: impl FnOnce(&mut tongban_core::config::Config),
) -> TestServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    TestServer::start_with(|c| {
        c.listen = format!("127.0.0.1:{port}").parse().unwrap();
        c.public_url = format!("http://127.0.0.1:{port}");
        adjust(c);
    })
    .await
}

/// `openssl cms -verify` of the detached DER signature file `signature` over the file
/// `content`, trusting `root` for any purpose (a seal's certificate is not an e-mail
/// one); (success, output).
pub fn cms_verify(work: &Workdir, signature: &Path, content: &Path, root: &Path) -> (bool, String) {
    openssl(&[
        &"cms",
        &"-verify",
        &"-binary",
        &"-inform",
        &"DER",
        &"-in",
        &signature,
        &"-content",
        &content,
        &"-CAfile",
        &root,
        &"-purpose",
        &"any",
        &"-out",
        &work.path("cms-verified.out"),
    ])
}

/// Runs `program`; (success, stdout + stderr).
pub fn run(program: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> (bool, String) {
    let output = Command::new(program)
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

/// An NSS database trusting `root`, for pdfsig; its `-nssdir` argument.
pub fn nss_db(work: &Workdir, root: &Path) -> String {
    let nss = work.path("nssdb");
    std::fs::create_dir_all(&nss).unwrap();
    let nss_dir = format!("sql:{}", nss.display());
    let (ok, text) = run("certutil", &[&"-N", &"--empty-password", &"-d", &nss_dir]);
    assert!(ok, "{text}");
    let (ok, text) = run(
        "certutil",
        &[
            &"-A",
            &"-d",
            &nss_dir,
            &"-n",
            &"tongban-root",
            &"-t",
            &"CT,C,C",
            &"-a",
            &"-i",
            &root,
        ],
    );
    assert!(ok, "{text}");
    nss_dir
}

/// qpdf --check, pdfsig (every signature valid and trusted) and pyHanko
/// (`pdf_validate.py`) on a sealed PDF with `count` signatures.
pub fn judge_pdf(work: &Workdir, nss_dir: &str, root: &Path, name: &str, pdf: &[u8], count: usize) {
    let file = work.write(&format!("{name}.pdf"), pdf);
    let (ok, text) = run("qpdf", &[&"--check", &file]);
    assert!(ok, "qpdf --check {name}: {text}");
    let (_, text) = run("pdfsig", &[&"-nssdir", &nss_dir, &file]);
    assert_eq!(
        text.matches("Signature is Valid.").count(),
        count,
        "pdfsig {name}: {text}"
    );
    assert_eq!(
        text.matches("Certificate is Trusted.").count(),
        count,
        "pdfsig {name}: {text}"
    );
    let output = Command::new(python())
        .arg(support::repo_root().join("tests/interop/pdf_validate.py"))
        .arg(&file)
        .arg(root)
        .arg(count.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "pyHanko {name}: {text}");
}

/// `openssl dgst -sm3` (default distinguishing ID) accepts `signature` over `message`
/// under the key of `certificate` (all DER files in `work`).
pub fn openssl_verifies(work: &Workdir, certificate: &str, message: &str, signature: &str) -> bool {
    let key = work.path(&format!("{certificate}.key.pem"));
    let (ok, text) = openssl(&[
        &"x509",
        &"-inform",
        &"DER",
        &"-in",
        &work.path(certificate),
        &"-pubkey",
        &"-noout",
        &"-out",
        &key,
    ]);
    assert!(ok, "{text}");
    let (ok, _) = openssl(&[
        &"dgst",
        &"-sm3",
        &"-verify",
        &key,
        &"-sigopt",
        &"distid:1234567812345678",
        &"-signature",
        &work.path(signature),
        &work.path(message),
    ]);
    ok
}

/// A rendered page (a PNG of pdftoppm or ofd-core): its size and pixels, RGB or RGBA.
pub struct Raster {
    pub width: usize,
    pub height: usize,
    channels: usize,
    pixels: Vec<u8>,
}

impl Raster {
    pub fn from_png(bytes: &[u8]) -> Self {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{other:?}"),
        };
        Self {
            width: info.width as usize,
            height: info.height as usize,
            channels,
            pixels,
        }
    }

    pub fn rgb(&self, x: usize, y: usize) -> [u8; 3] {
        let at = (y * self.width + x) * self.channels;
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }

    /// Dark pixels (every channel under 128) in the box `[x0, y0, x1, y1]`, pixels from
    /// the top left.
    pub fn dark(&self, [x0, y0, x1, y1]: [usize; 4]) -> usize {
        (y0..y1)
            .flat_map(|y| (x0..x1).map(move |x| (x, y)))
            .filter(|&(x, y)| self.rgb(x, y).iter().all(|c| *c < 128))
            .count()
    }
}
