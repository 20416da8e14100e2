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

/// The `tongban` binary serving `database` on a port of its own, with `env` added to
/// its environment (`TONGBAN_PUBLIC_URL` behind a load balancer, say).
pub struct Instance {
    child: tokio::process::Child,
    /// Its own address, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Instance {
    /// Starts it and waits until `/readyz` says ready.
    pub async fn start(database: &str, http: &reqwest::Client, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let child = Binary::command()
            .arg("serve")
            .env("TONGBAN_DATABASE_URL", database)
            .env("TONGBAN_LISTEN", format!("127.0.0.1:{port}"))
            .env("TONGBAN_LOG_LEVEL", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if http
                .get(format!("{base}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
            {
                return Self { child, base };
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("tongban did not start on {database}");
    }

    /// SIGKILL: no shutdown, no last integration.
    pub async fn kill_9(mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }
}

/// A port nobody listens on now (the kernel's choice, released again).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits, if needed, until a one-minute budget window has at least two seconds left, so
/// that a test's few requests fall in one window.
pub async fn inside_one_minute() {
    let into = tongban_core::time::Timestamp::now()
        .unix_millis()
        .rem_euclid(60_000);
    if into > 58_000 {
        tokio::time::sleep(std::time::Duration::from_millis((60_100 - into) as u64)).await;
    }
}
