//! [`SoftHsm`]: a SoftHSM2 token of a test's own, in SoftHSM's default token
//! directory, deleted again when the test ends.

use std::path::{Path, PathBuf};

use tongban_core::config::Pkcs11Config;

/// SoftHSM2's PKCS#11 module as Debian installs it.
pub const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The user PIN of every test token.
pub const PIN: &str = "264519";

/// A token of its own.
pub struct SoftHsm {
    /// The token's label.
    pub label: String,
    dir: PathBuf,
}

impl SoftHsm {
    /// A new token, or none (with a note) where SoftHSM2 is not installed.
    pub fn new() -> Option<Self> {
        if !Path::new(MODULE).exists() {
            assert!(
                std::env::var("TONGBAN_REQUIRE_SOFTHSM").as_deref() != Ok("1"),
                "TONGBAN_REQUIRE_SOFTHSM=1 but {MODULE} is missing (apt-get install softhsm2)"
            );
            eprintln!("skipped: no SoftHSM2 at {MODULE}");
            return None;
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        let label = format!("tongban-{}", &id[..12]);
        let made = std::process::Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", &label])
            .args(["--pin", PIN, "--so-pin", "86201945"])
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let dir = std::env::temp_dir().join(format!("tongban-hsm-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("pin"), format!("{PIN}\n")).unwrap();
        Some(Self { label, dir })
    }

    /// `keys.pkcs11` for this token and `purposes`.
    pub fn config(&self, purposes: &[&str]) -> Pkcs11Config {
        Pkcs11Config {
            module: Some(MODULE.into()),
            token_label: self.label.clone(),
            pin_file: Some(self.dir.join("pin")),
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
        }
    }
}

impl Drop for SoftHsm {
    fn drop(&mut self) {
        let _ = std::process::Command::new("softhsm2-util")
            .args(["--delete-token", "--token", &self.label])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
