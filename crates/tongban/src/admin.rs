//! `tongban admin …`: operator tasks on the database.

use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use tongban_core::config::Config;
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::resident_id::ResidentId;
use tongban_identity::{console, identity_registry, subjects};
use tongban_store::Store;

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
    /// Make a registered person a platform administrator in the console (departments,
    /// people, clients and all of the audit trail). Recorded in the audit trail.
    PlatformAdmin {
        /// Their resident ID number.
        #[arg(long)]
        resident_id: String,
    },
}

/// Runs one `admin` subcommand.
pub async fn run(config: Config, command: AdminCommand) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&config.database)
        .await
        .context("cannot open the database")?;
    store.migrate().await?;
    let result = match command {
        AdminCommand::ClientCreate {
            name,
            redirect_uris,
            post_logout_uris,
            scopes,
            grants,
            public,
            first_party,
            jwks_file,
            backchannel_logout_uri,
            require_par,
            min_level,
            sector_identifier,
        } => {
            let jwks = match jwks_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Some(serde_json::from_str(&text).context("the file is not a JWK Set")?)
                }
                None => None,
            };
            let new = NewClient {
                jwks,
                name,
                confidential: !public,
                redirect_uris,
                post_logout_redirect_uris: post_logout_uris,
                scopes,
                grant_types: grants,
                first_party,
                department_id: None,
                backchannel_logout_uri,
                require_par,
                min_level,
                sector_identifier,
                accepts_delegation: false,
            };
            let mut tx = store.begin().await?;
            let (client, secret) = clients::register(&mut tx, &new, Timestamp::now()).await?;
            tx.commit().await?;
            let shown = serde_json::json!({ "client_id": client.id, "client_secret": secret });
            println!("{shown}");
            if secret.is_some() {
                eprintln!("the client secret is shown this once; store it now");
            }
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::RegistryImport { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut tx = store.begin().await?;
            let count = identity_registry::import_csv(&mut tx, &text, Timestamp::now()).await?;
            tx.commit().await?;
            println!("{count} registry entries imported");
            Ok(ExitCode::SUCCESS)
        }
        AdminCommand::PlatformAdmin { resident_id } => {
            let number: ResidentId = resident_id
                .trim()
                .parse()
                .context("not a valid resident ID number")?;
            let mut tx = store.begin().await?;
            let person = subjects::find_by_resident_id(&mut tx, &number)
                .await?
                .context("no registered person has this resident ID number")?;
            let added =
                console::grant_platform_admin(&mut tx, person, "operator:cli", Timestamp::now())
                    .await?;
            tx.commit().await?;
            if added {
                println!("{person} is now a platform administrator");
            } else {
                println!("{person} already was a platform administrator");
            }
            Ok(ExitCode::SUCCESS)
        }
    };
    store.close().await;
    result
}
