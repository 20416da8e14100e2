//! The command line: `tongban serve | migrate | openapi`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tongban_core::config::Config;
use tongban_store::Store;

use crate::{admin, keys, logging, server, startup};

/// Tongban: unified identity, e-certificates and e-seals for digital government.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// Configuration file (TOML). Default: `tongban.toml` in the working directory, if
    /// present. `TONGBAN_*` environment variables override it.
    #[arg(long, global = true, env = "TONGBAN_CONFIG")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve,
    /// Apply database migrations, or with `--status` only report the schema version.
    Migrate {
        /// Report the schema version without changing anything; exit 1 if not current.
        #[arg(long)]
        status: bool,
    },
    /// Print the OpenAPI document (as served at /openapi.json).
    Openapi,
    /// Keys and CAs.
    Keys {
        /// What to do.
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Administration.
    Admin {
        /// What to do.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// `tongban admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Register an OAuth client (a portal or a department system). Prints its
    /// client_id and, for a confidential client, its secret — shown this once only.
    ClientCreate {
        /// Display name, shown on consent pages.
        #[arg(long)]
        name: String,
        /// A redirect URI, matched exactly (repeat for several).
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// A post-logout redirect URI (repeat for several).
        #[arg(long = "post-logout-uri")]
        post_logout_uris: Vec<String>,
        /// An allowed scope (repeat for several).
        #[arg(long = "scope", default_value = "openid")]
        scopes: Vec<String>,
        /// An allowed grant type (repeat for several).
        #[arg(long = "grant", default_values = ["authorization_code", "refresh_token"])]
        grants: Vec<String>,
        /// A public client (no secret), e.g. a native app.
        #[arg(long)]
        public: bool,
        /// A first-party portal: no consent page.
        #[arg(long)]
        first_party: bool,
        /// A JSON file with the client's public JWK Set: it authenticates with
        /// private_key_jwt and gets no secret.
        #[arg(long)]
        jwks_file: Option<PathBuf>,
        /// Where logout tokens are posted (OIDC Back-Channel Logout).
        #[arg(long)]
        backchannel_logout_uri: Option<String>,
        /// Authorization requests only through PAR (RFC 9126).
        #[arg(long)]
        require_par: bool,
        /// The lowest assurance level of its logins (1 to 3).
        #[arg(long, default_value_t = 1)]
        min_level: u8,
        /// The sector of its pairwise subject identifiers (third-party clients).
        #[arg(long)]
        sector_identifier: Option<String>,
    },
    /// Import the development identity registry from CSV lines `name,resident_id`
    /// (all or nothing); logins that match an entry reach assurance level 2.
    RegistryImport {
        /// The CSV file.
        file: PathBuf,
    },
}

/// `tongban keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make development keys in keys.dir: a KEK, a root CA and its encrypted key, and
    /// the DEVELOPMENT-ONLY marker that production refuses.
    DevInit {
        /// Replace existing development keys (invalidates databases made with them).
        #[arg(long)]
        force: bool,
    },
    /// Install an externally made root CA certificate (PEM) as keys.dir/root-ca.pem.
    ImportRoot {
        /// The root certificate, PEM.
        file: PathBuf,
    },
    /// Generate the issuing CA key (stored encrypted) and write its PKCS#10 request
    /// for the offline root to sign.
    IssuingCsr {
        /// Where to write the request (PEM).
        #[arg(long)]
        out: PathBuf,
    },
    /// Import the issuing CA certificate the offline root signed.
    ImportIssuing {
        /// The certificate, PEM.
        file: PathBuf,
    },
    /// Rotate the token signing key: the new key is published at once and signs after
    /// an hour; the old one stays published for a day after that.
    Rotate,
}

/// Parses arguments, runs the command, and turns errors into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        return match serde_json::to_string_pretty(&tongban_api::openapi()) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(error) => fail(&error.to_string()),
        };
    }
    // vars() would panic on a variable that is not UTF-8; none of ours can be.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
    let config = match Config::load(cli.config.as_deref(), env) {
        Ok(config) => config,
        Err(error) => return fail(&error.to_string()),
    };
    logging::init(&config.log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Migrate { status } => migrate(config, status).await,
            Command::Openapi => Ok(ExitCode::SUCCESS),
            Command::Keys { command } => keys::run(config, command).await,
            Command::Admin { command } => admin::run(config, command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => fail(&format!("{error:#}")),
    }
}

async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let running = server::start(config).await?;
    server::shutdown_signal().await;
    running.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

async fn migrate(config: Config, status_only: bool) -> anyhow::Result<ExitCode> {
    startup::check(&config)?;
    let store = Store::connect(&config.database).await?;
    let status = if status_only {
        store.schema_status().await?
    } else {
        store.migrate().await?
    };
    store.close().await;
    let database = status
        .database
        .map_or_else(|| "none".to_owned(), |v| v.to_string());
    println!(
        "{}: schema version {database}, this binary {}",
        store.engine().name(),
        status.binary
    );
    Ok(if status.is_current() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("tongban: {message}");
    ExitCode::FAILURE
}
