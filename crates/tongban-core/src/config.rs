//! Service configuration: an optional TOML file, then `TONGBAN_*` environment overrides.
//!
//! Every key is listed once in [`ENV_OVERRIDES`] with its environment variable, so the
//! README's configuration table and the loader cannot drift apart silently: a test checks
//! that each variable named there is documented.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Whether this instance may use development material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// Dev keys from `keys-dev/` are allowed; the default.
    Development,
    /// Refuses development keys and requires a key-encryption key.
    Production,
}

/// The whole configuration of one `tongban` instance.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `development` or `production`.
    pub env: Environment,
    /// Socket address the HTTP server binds.
    pub listen: SocketAddr,
    /// The URL relying parties reach this service at (behind any proxy). Certificates
    /// point their CRL and CA-certificate URLs here, so it must be right before the
    /// first certificate is issued.
    pub public_url: String,
    /// Database settings.
    pub database: DatabaseConfig,
    /// HTTP limits and timeouts.
    pub http: HttpConfig,
    /// Where keys come from.
    pub keys: KeysConfig,
    /// Logging.
    pub log: LogConfig,
    /// Authentication policy.
    pub auth: AuthConfig,
    /// E-seal settings.
    pub seal: SealConfig,
    /// The transparency log.
    pub ledger: LedgerConfig,
}

/// The transparency log.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerConfig {
    /// Witnesses whose cosignatures the log accepts and shows: C2SP cosignature/v1
    /// verifier keys (`name+hash+base64`).
    pub witnesses: Vec<String>,
    /// Whether acts append to the log. Off only to measure what the log costs; a
    /// production instance refuses to start with it off.
    pub enabled: bool,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self {
            witnesses: Vec::new(),
            enabled: true,
        }
    }
}

/// E-seal settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SealConfig {
    /// A CJK TrueType/OpenType font (or collection: its first face) for the name on
    /// default stamps; unset: the first of the usual system paths present.
    pub stamp_font: Option<PathBuf>,
    /// A directory of other platforms' certificates and CRLs trusted for verifying
    /// their seals (never for issuing): roots (self-signed) and intermediates as
    /// `.pem`/`.crt`/`.cer`, CRLs as `.crl` (PEM or DER); read at start.
    pub foreign_trust_dir: Option<PathBuf>,
}

/// Authentication policy.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Department staff reach portals only after a passkey login; a password session
    /// of theirs serves the account page alone (where they enrol a passkey).
    pub staff_passkeys_required: bool,
}

/// Database settings.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://path/to/file.db` (the embedded default) or `postgres://…`.
    pub url: String,
    /// Upper bound of the connection pool.
    pub max_connections: u32,
    /// How long a request waits for a connection (and, on SQLite, for the write lock)
    /// before it is answered 503.
    pub timeout_ms: u64,
}

/// HTTP limits and timeouts.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes; larger bodies get 413.
    pub body_limit_bytes: usize,
    /// Largest document (a PDF to seal) accepted, in bytes.
    pub document_limit_bytes: usize,
    /// Longest time one request may take before it is answered 503.
    pub request_timeout_secs: u64,
    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish.
    pub shutdown_grace_secs: u64,
    /// Reverse proxies whose `X-Forwarded-For` is believed: the client address used for
    /// throttling is the rightmost one not in this list. Empty: the peer address.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Public verifications (documents, certificates, status pages) one client address
    /// may ask for per minute, per instance.
    pub verify_per_minute: u32,
}

/// Where keys come from.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// Directory of CA and TSA material; `keys-dev` in development.
    pub dir: PathBuf,
    /// File holding the base64 key-encryption key (32 bytes).
    pub kek_file: Option<PathBuf>,
    /// The base64 key-encryption key itself; only from the environment (`TONGBAN_KEK`),
    /// never from the file, so it does not end up in a checked-in config.
    #[serde(skip)]
    pub kek: Option<String>,
    /// A PKCS#11 token (an HSM) for the P-256 keys of the purposes it names.
    pub pkcs11: Pkcs11Config,
}

/// Keys in a PKCS#11 token: made there, used there, never leaving it. Off while
/// `module` is unset.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pkcs11Config {
    /// The token's PKCS#11 library, e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: Option<PathBuf>,
    /// The label of the (initialised) token.
    pub token_label: String,
    /// File holding the user PIN (its first line).
    pub pin_file: Option<PathBuf>,
    /// Which new keys are made in the token: `issuing-ca`, `seal`, `tsa`. Keys made
    /// before stay where they are; SM2 keys are always under the KEK.
    pub purposes: Vec<String>,
}

/// Logging.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `info,tongban_store=debug`.
    pub level: String,
}

// Configuration gets printed in debugging; the password in a database URL and the KEK
// must not be.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &redact_url(&self.url))
            .field("max_connections", &self.max_connections)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

impl std::fmt::Debug for KeysConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeysConfig")
            .field("dir", &self.dir)
            .field("kek_file", &self.kek_file)
            .field("kek", &self.kek.as_ref().map(|_| "***"))
            .field("pkcs11", &self.pkcs11)
            .finish()
    }
}

/// A URL without the password of its user info, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{user}:***{}", &url[..scheme_end], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: Environment::Development,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            // localhost rather than 127.0.0.1: browsers refuse passkeys on IP origins.
            public_url: "http://localhost:8080".to_owned(),
            database: DatabaseConfig::default(),
            http: HttpConfig::default(),
            keys: KeysConfig::default(),
            log: LogConfig::default(),
            auth: AuthConfig::default(),
            seal: SealConfig::default(),
            ledger: LedgerConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/tongban.db".to_owned(),
            max_connections: 10,
            timeout_ms: 5_000,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 2 * 1024 * 1024,
            document_limit_bytes: 100 * 1024 * 1024,
            request_timeout_secs: 30,
            shutdown_grace_secs: 20,
            trusted_proxies: Vec::new(),
            verify_per_minute: 60,
        }
    }
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("keys-dev"),
            kek_file: None,
            kek: None,
            pkcs11: Pkcs11Config::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".to_owned(),
        }
    }
}

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The named config file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The config file is not valid TOML for this schema.
    #[error("invalid config file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the TOML parser said.
        message: String,
    },
    /// An environment override has a value of the wrong form.
    #[error("invalid value for {var}: {message}")]
    Env {
        /// The variable.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
}

type Setter = fn(&mut Config, &str) -> Result<(), String>;

/// Every environment override: variable, config key, setter. Later entries win, so
/// `TONGBAN_DATABASE_URL` beats the conventional `DATABASE_URL`.
pub const ENV_OVERRIDES: &[(&str, &str, Setter)] = &[
    ("TONGBAN_ENV", "env", |c, v| {
        c.env = match v {
            "development" => Environment::Development,
            "production" => Environment::Production,
            _ => return Err("expected `development` or `production`".to_owned()),
        };
        Ok(())
    }),
    ("TONGBAN_LISTEN", "listen", |c, v| {
        c.listen = parse(v)?;
        Ok(())
    }),
    ("TONGBAN_PUBLIC_URL", "public_url", |c, v| {
        c.public_url = v.trim_end_matches('/').to_owned();
        Ok(())
    }),
    ("DATABASE_URL", "database.url", |c, v| {
        c.database.url = v.to_owned();
        Ok(())
    }),
    ("TONGBAN_DATABASE_URL", "database.url", |c, v| {
        c.database.url = v.to_owned();
        Ok(())
    }),
    (
        "TONGBAN_DATABASE_MAX_CONNECTIONS",
        "database.max_connections",
        |c, v| {
            c.database.max_connections = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_DATABASE_TIMEOUT_MS",
        "database.timeout_ms",
        |c, v| {
            c.database.timeout_ms = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_BODY_LIMIT_BYTES",
        "http.body_limit_bytes",
        |c, v| {
            c.http.body_limit_bytes = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_DOCUMENT_LIMIT_BYTES",
        "http.document_limit_bytes",
        |c, v| {
            c.http.document_limit_bytes = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_REQUEST_TIMEOUT_SECS",
        "http.request_timeout_secs",
        |c, v| {
            c.http.request_timeout_secs = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_SHUTDOWN_GRACE_SECS",
        "http.shutdown_grace_secs",
        |c, v| {
            c.http.shutdown_grace_secs = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_VERIFY_PER_MINUTE",
        "http.verify_per_minute",
        |c, v| {
            c.http.verify_per_minute = parse(v)?;
            Ok(())
        },
    ),
    (
        "TONGBAN_HTTP_TRUSTED_PROXIES",
        "http.trusted_proxies",
        |c, v| {
            c.http.trusted_proxies = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(parse)
                .collect::<Result<_, _>>()?;
            Ok(())
        },
    ),
    ("TONGBAN_KEYS_DIR", "keys.dir", |c, v| {
        c.keys.dir = PathBuf::from(v);
        Ok(())
    }),
    ("TONGBAN_KEYS_KEK_FILE", "keys.kek_file", |c, v| {
        c.keys.kek_file = Some(PathBuf::from(v));
        Ok(())
    }),
    (
        "TONGBAN_KEYS_PKCS11_MODULE",
        "keys.pkcs11.module",
        |c, v| {
            c.keys.pkcs11.module = Some(PathBuf::from(v));
            Ok(())
        },
    ),
    (
        "TONGBAN_KEYS_PKCS11_TOKEN_LABEL",
        "keys.pkcs11.token_label",
        |c, v| {
            c.keys.pkcs11.token_label = v.to_owned();
            Ok(())
        },
    ),
    (
        "TONGBAN_KEYS_PKCS11_PIN_FILE",
        "keys.pkcs11.pin_file",
        |c, v| {
            c.keys.pkcs11.pin_file = Some(PathBuf::from(v));
            Ok(())
        },
    ),
    (
        "TONGBAN_KEYS_PKCS11_PURPOSES",
        "keys.pkcs11.purposes",
        |c, v| {
            c.keys.pkcs11.purposes = v
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect();
            Ok(())
        },
    ),
    ("TONGBAN_KEK", "keys.kek", |c, v| {
        c.keys.kek = Some(v.to_owned());
        Ok(())
    }),
    ("TONGBAN_LOG_LEVEL", "log.level", |c, v| {
        c.log.level = v.to_owned();
        Ok(())
    }),
    ("TONGBAN_SEAL_STAMP_FONT", "seal.stamp_font", |c, v| {
        c.seal.stamp_font = Some(PathBuf::from(v));
        Ok(())
    }),
    (
        "TONGBAN_SEAL_FOREIGN_TRUST_DIR",
        "seal.foreign_trust_dir",
        |c, v| {
            c.seal.foreign_trust_dir = Some(PathBuf::from(v));
            Ok(())
        },
    ),
    ("TONGBAN_LEDGER_WITNESSES", "ledger.witnesses", |c, v| {
        c.ledger.witnesses = v
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(())
    }),
    ("TONGBAN_LEDGER_ENABLED", "ledger.enabled", |c, v| {
        c.ledger.enabled = parse(v)?;
        Ok(())
    }),
    (
        "TONGBAN_AUTH_STAFF_PASSKEYS_REQUIRED",
        "auth.staff_passkeys_required",
        |c, v| {
            c.auth.staff_passkeys_required = parse(v)?;
            Ok(())
        },
    ),
];

fn parse<T: std::str::FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| e.to_string())
}

impl Config {
    /// The file read when no path is given, if it exists.
    pub const DEFAULT_FILE: &'static str = "tongban.toml";

    /// Loads the configuration: defaults, then the file (`path`, or `tongban.toml` in the
    /// working directory if present), then overrides from `env`.
    ///
    /// An explicitly named file that does not exist is an error; a missing default file
    /// is not.
    pub fn load(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::from_file(path)?,
            None if Path::new(Self::DEFAULT_FILE).exists() => {
                Self::from_file(Path::new(Self::DEFAULT_FILE))?
            }
            None => Self::default(),
        };
        let env: HashMap<String, String> = env.into_iter().collect();
        for (var, _key, set) in ENV_OVERRIDES {
            if let Some(value) = env.get(*var) {
                set(&mut config, value).map_err(|message| ConfigError::Env { var, message })?;
            }
        }
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let mut c = Config::default();
        c.database.url = "postgres://u:hunter2@h/db".into();
        c.keys.kek = Some("c2VjcmV0".into());
        let text = format!("{c:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("c2VjcmV0"),
            "{text}"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn defaults_match_the_readme() {
        let c = Config::default();
        assert_eq!(c.env, Environment::Development);
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database.url, "sqlite://data/tongban.db");
        assert_eq!(c.keys.dir, PathBuf::from("keys-dev"));
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("tongban-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("t.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\n[database]\nurl = \"sqlite://x.db\"\nmax_connections = 3\n",
        )
        .expect("write");
        let c = Config::load(
            Some(&file),
            env(&[
                ("DATABASE_URL", "postgres://a/b"),
                ("TONGBAN_DATABASE_URL", "postgres://c/d"),
                ("TONGBAN_ENV", "production"),
            ]),
        )
        .expect("loads");
        assert_eq!(c.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(c.database.max_connections, 3);
        assert_eq!(c.database.url, "postgres://c/d");
        assert_eq!(c.env, Environment::Production);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Config::load(None, env(&[("TONGBAN_LISTEN", "nonsense")])).unwrap_err();
        assert!(err.to_string().contains("TONGBAN_LISTEN"), "{err}");
        let err = Config::load(None, env(&[("TONGBAN_ENV", "prod")])).unwrap_err();
        assert!(err.to_string().contains("TONGBAN_ENV"), "{err}");
    }

    #[test]
    fn unknown_file_keys_are_refused() {
        let dir = std::env::temp_dir().join(format!("tongban-config-u-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("t.toml");
        std::fs::write(&file, "[database]\nulr = \"typo\"\n").expect("write");
        let err = Config::load(Some(&file), Vec::new()).unwrap_err();
        assert!(err.to_string().contains("ulr"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn every_variable_is_in_the_readme() {
        let readme = include_str!("../../../README.md");
        for (var, key, _) in ENV_OVERRIDES {
            assert!(readme.contains(&format!("`{var}`")), "README lacks {var}");
            assert!(
                readme.contains(&format!("| `{key}` |")),
                "README's table lacks {key}"
            );
        }
    }
}
