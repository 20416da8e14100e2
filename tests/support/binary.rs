//! [`Binary`]: the built `tongban` executable, for what only a process shows (exit
//! codes, signals, start-up time).

use super::repo_root;

/// The built `tongban` executable.
pub struct Binary;

impl Binary {
    /// Path of the executable cargo built for these tests.
    pub fn path() -> &'static str {
        env!("CARGO_BIN_EXE_tongban")
    }

    /// A command for it, run from the repository root with a clean `TONGBAN_*`
    /// environment.
    pub fn command() -> tokio::process::Command {
        let mut command = tokio::process::Command::new(Self::path());
        command.current_dir(repo_root()).kill_on_drop(true);
        for (key, _) in std::env::vars() {
            if key.starts_with("TONGBAN_") || key == "DATABASE_URL" {
                command.env_remove(key);
            }
        }
        command
    }
}
