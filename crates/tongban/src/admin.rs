//! `tongban admin …`: operator tasks on the database.

use std::process::ExitCode;

use anyhow::Context;
use tongban_core::config::Config;
use tongban_core::time::Timestamp;
use tongban_identity::clients::{self, NewClient};
use tongban_identity::registry;
use tongban_store::Store;

use crate::cli::AdminCommand;

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
            let count = registry::import_csv(&mut tx, &text, Timestamp::now()).await?;
            tx.commit().await?;
            println!("{count} registry entries imported");
            Ok(ExitCode::SUCCESS)
        }
    };
    store.close().await;
    result
}
