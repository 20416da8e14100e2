//! The command line: `tongban serve | migrate | openapi`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tongban_core::config::Config;
use tongban_store::Store;

use crate::admin::{self, AdminCommand};
use crate::keys::{self, KeysCommand};
use crate::{logging, server, startup};

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
    /// The transparency log.
    Log {
        /// What to do.
        #[command(subcommand)]
        command: LogCommand,
    },
}

/// Transparency-log subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Monitor a log: check its checkpoint with the pinned key, rebuild its tree from
    /// the tiles, and check that every checkpoint seen before (in `--state`) is a prefix
    /// of it. Exits 1 on a split, a gap, a bad entry or a bad signature.
    Verify {
        /// The log's base URL (the platform's public URL).
        #[arg(long)]
        url: String,
        /// The log's note verifier key (`name+hash+base64`), or a file holding it.
        #[arg(long)]
        key: String,
        /// A JSON file of the checkpoints seen before; created, and updated on success.
        #[arg(long)]
        state: Option<std::path::PathBuf>,
    },
    /// Witness a log once: check its latest checkpoint extends the one cosigned before,
    /// cosign it (C2SP cosignature/v1) and hand the cosignature to the log. Exits 1 when
    /// it refuses.
    Witness {
        /// The log's base URL.
        #[arg(long)]
        url: String,
        /// The log's note verifier key, or a file holding it.
        #[arg(long)]
        key: String,
        /// The witness's name (its key's name).
        #[arg(long)]
        name: String,
        /// The witness's private key (base64 PKCS#8 Ed25519); made if absent.
        #[arg(long)]
        witness_key: std::path::PathBuf,
        /// The witness's memory of what it cosigned last (JSON).
        #[arg(long)]
        state: std::path::PathBuf,
    },
    /// Print a witness's cosignature verifier key (for the log's `ledger.witnesses`),
    /// making its private key first if the file is absent.
    WitnessKey {
        /// The witness's name.
        #[arg(long)]
        name: String,
        /// The witness's private key file.
        #[arg(long)]
        witness_key: std::path::PathBuf,
    },
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
    let sink = match cli.command {
        Command::Serve => logging::Sink::Stdout,
        _ => logging::Sink::Stderr,
    };
    logging::init(&config.log, sink);
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
            Command::Log { command } => log(command).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(error) => fail(&format!("{error:#}")),
    }
}

async fn log(command: LogCommand) -> anyhow::Result<ExitCode> {
    match command {
        LogCommand::Verify { url, key, state } => {
            crate::log_monitor::verify(&url, &key, state.as_deref()).await
        }
        LogCommand::Witness {
            url,
            key,
            name,
            witness_key,
            state,
        } => {
            let witness = crate::log_witness::Witness {
                url: &url,
                log_key: &key,
                name: &name,
                key_file: &witness_key,
                state: &state,
            };
            crate::log_witness::run(&witness).await
        }
        LogCommand::WitnessKey { name, witness_key } => {
            let (_, key) = crate::log_witness::witness_key(&witness_key, &name)?;
            println!("{}", key.encode());
            Ok(ExitCode::SUCCESS)
        }
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
