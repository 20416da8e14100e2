//! What the Rust interop tests share: a scratch directory, openssl, and the Python of
//! `tests/interop/.venv`.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tongban_crypto::pki::der_to_pem;

use crate::support;

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
