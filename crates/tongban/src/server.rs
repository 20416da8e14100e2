//! The server's life cycle: start-up checks, database, migrations, bind, serve, and a
//! bounded graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::serve::ListenerExt as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tongban_api::AppState;
use tongban_core::config::{Config, Environment};
use tongban_crypto::pki::Pki;
use tongban_identity::password::Passwords;
use tongban_store::Store;

use crate::startup;

/// How long closing the pool may take after the server stopped.
const POOL_CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A started server.
pub struct Running {
    addr: SocketAddr,
    store: Store,
    pki: Arc<Pki>,
    stop: watch::Sender<bool>,
    task: JoinHandle<std::io::Result<()>>,
    crl_refresher: JoinHandle<()>,
    logout_sender: JoinHandle<()>,
    authority_expiry: JoinHandle<()>,
    batch_worker: JoinHandle<()>,
    signing_callbacks: JoinHandle<()>,
    tally_writer: JoinHandle<()>,
    database_watcher: JoinHandle<()>,
    change_listener: JoinHandle<()>,
    log_integrator: JoinHandle<()>,
    ledger: Arc<tongban_ledger::Log>,
    grace: Duration,
}

/// How often the CRL's age is checked; a new one is signed at half its validity.
const CRL_CHECK_INTERVAL: Duration = Duration::from_secs(600);

/// Keeps the published CRL fresh even when nothing is revoked for days.
async fn refresh_crls(pki: Arc<Pki>) {
    let mut ticks = tokio::time::interval(CRL_CHECK_INTERVAL);
    loop {
        ticks.tick().await;
        if let Err(error) = pki.refresh_crl_if_due().await {
            tracing::warn!(%error, "CRL refresh failed; retrying at the next check");
        }
    }
}

/// Checks the configuration, opens and migrates the database, binds the listener and
/// starts serving in a background task.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    let started = Instant::now();
    let kek = startup::check(&config)?;
    let store = Store::connect(&config.database)
        .await
        .context("cannot open the database")?;
    let schema = store.migrate().await?;
    // A root private key is used only in development, to make the issuing CA.
    let development = config.env == Environment::Development;
    let kek = Arc::new(kek);
    let keys = key_store(&config, &store, &kek).await?;
    let pki = Pki::open_with(
        keys,
        store.clone(),
        kek.clone(),
        &config.keys.dir,
        &config.public_url,
        development,
    )
    .await
    .context("cannot open the PKI")?;
    let pki = match &config.seal.foreign_trust_dir {
        Some(dir) => {
            let trust =
                tongban_crypto::pki::ForeignTrust::read(dir).context("seal.foreign_trust_dir")?;
            tracing::info!(
                roots = trust.roots.len(),
                intermediates = trust.intermediates.len(),
                crls = trust.crls.len(),
                "foreign trust store read"
            );
            pki.with_foreign_trust(trust)
        }
        None => pki,
    };
    let pki = Arc::new(pki);
    if let Some(font) = &config.seal.stamp_font {
        tongban_seal::stamp::configure_font(font);
    }
    // Found (or missed, with a warning) now rather than at the first seal; a font that
    // was asked for and cannot be read stops the start.
    if tongban_seal::stamp::font().is_none()
        && let Some(font) = &config.seal.stamp_font
    {
        anyhow::bail!("seal.stamp_font: no readable font at {}", font.display());
    }
    tongban_ledger::storage::set_recording(config.ledger.enabled);
    let witnesses = config
        .ledger
        .witnesses
        .iter()
        .map(|w| {
            tongban_ledger::note::VerifierKey::parse(w)
                .with_context(|| format!("ledger.witnesses: {w}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let origin = log_origin(&config.public_url);
    let ledger = tongban_ledger::Log::open(store.clone(), pki.keys(), &origin, witnesses)
        .await
        .context("cannot open the transparency log")?;
    ledger
        .record_authorities(&authorities(&pki))
        .await
        .context("cannot log the CA certificates")?;
    let ledger = Arc::new(ledger);
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let grace = Duration::from_secs(config.http.shutdown_grace_secs);
    let passwords = tokio::task::spawn_blocking(Passwords::new)
        .await
        .context("password hasher")??;
    let app = tongban_api::router(AppState::new(
        store.clone(),
        &config,
        pki.clone(),
        Arc::new(passwords),
        ledger.clone(),
    ));
    let log_integrator = tokio::spawn(ledger.clone().run());
    let crl_refresher = tokio::spawn(refresh_crls(pki.clone()));
    let logout_sender = tokio::spawn(crate::logout_delivery::run(
        store.clone(),
        tongban_identity::tokens::TokenIssuer::new(&config.public_url, pki.token_keys().clone()),
    ));
    let authority_expiry = tokio::spawn(crate::authority_expiry::run(store.clone()));
    let batch_worker = tokio::spawn(crate::batch_worker::run(
        store.clone(),
        pki.clone(),
        tongban_identity::tokens::TokenIssuer::new(&config.public_url, pki.token_keys().clone())
            .issuer()
            .to_owned(),
    ));
    let signing_callbacks = tokio::spawn(crate::signing_callbacks::run(
        store.clone(),
        tongban_identity::tokens::TokenIssuer::new(&config.public_url, pki.token_keys().clone()),
    ));
    let tally_writer = tokio::spawn(crate::tally_writer::run(store.clone()));
    let database_watcher = {
        let store = store.clone();
        tokio::spawn(async move { store.watch_database().await })
    };
    let change_listener = {
        let store = store.clone();
        tokio::spawn(async move { store.watch_changes().await })
    };
    let (stop, mut stopped) = watch::channel(false);
    // Without TCP_NODELAY a response's last small write (a sealed PDF's update after
    // its megabyte of original) waits for the client's delayed ACK: 40 ms on one
    // seal in ten (seal_load).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::warn!(%error, "cannot set TCP_NODELAY");
        }
    });
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        })
        .await
    });
    tracing::info!(
        %addr,
        database = store.engine().name(),
        schema_version = schema.database,
        startup_ms = started.elapsed().as_millis() as u64,
        "tongban listening"
    );
    Ok(Running {
        addr,
        store,
        pki,
        stop,
        task,
        crl_refresher,
        logout_sender,
        authority_expiry,
        batch_worker,
        signing_callbacks,
        tally_writer,
        database_watcher,
        change_listener,
        log_integrator,
        ledger,
        grace,
    })
}

/// The key store: under the KEK, with the configured PKCS#11 token for the purposes
/// it names. Opening the token (loading its library, logging in) blocks: a thread of
/// its own.
async fn key_store(
    config: &Config,
    store: &Store,
    kek: &Arc<tongban_crypto::kek::Kek>,
) -> anyhow::Result<tongban_crypto::keystore::KeyStore> {
    let keys = tongban_crypto::keystore::KeyStore::new(store.clone(), kek.clone());
    let pkcs11 = &config.keys.pkcs11;
    let Some(module) = pkcs11.module.clone() else {
        return Ok(keys);
    };
    let pin_file = pkcs11
        .pin_file
        .clone()
        .context("keys.pkcs11.pin_file: needed with keys.pkcs11.module")?;
    let pin = std::fs::read_to_string(&pin_file)
        .with_context(|| format!("keys.pkcs11.pin_file: cannot read {}", pin_file.display()))?;
    let pin = pin.lines().next().unwrap_or_default().to_owned();
    let label = pkcs11.token_label.clone();
    let token = tokio::task::spawn_blocking(move || {
        tongban_crypto::pkcs11::Token::open(&module, &label, &pin)
    })
    .await
    .context("opening the PKCS#11 token")?
    .context("keys.pkcs11")?;
    tracing::info!(
        token = token.label(),
        purposes = ?pkcs11.purposes,
        "P-256 keys of these purposes are made in the PKCS#11 token"
    );
    Ok(keys.with_token(Arc::new(token), &pkcs11.purposes)?)
}

/// The certificates the platform signs with as a CA or TSA, by authority name.
fn authorities(pki: &Pki) -> Vec<(&'static str, &[u8])> {
    use tongban_crypto::ca;
    let mut found: Vec<(&'static str, &[u8])> =
        [ca::ROOT, ca::ISSUING, ca::SM2_ROOT, ca::SM2_ISSUING]
            .into_iter()
            .filter_map(|name| Some((name, pki.ca_certificate(name)?)))
            .collect();
    if let Some(tsa) = pki.tsa().chain().first() {
        found.push(("tsa", tsa));
    }
    if let Some(tsa) = pki.sm2_tsa().and_then(|t| t.chain().first()) {
        found.push(("sm2-tsa", tsa));
    }
    found
}

/// The log's name on its first start: the public URL's host and path, `/log` appended
/// (C2SP origins are schemeless).
fn log_origin(public_url: &str) -> String {
    let url = public_url.trim_end_matches('/');
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    format!("{host}/log")
}

impl Running {
    /// The address the server listens on (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The server's PKI.
    pub fn pki(&self) -> &Arc<Pki> {
        &self.pki
    }

    /// Stops accepting connections, lets in-flight requests finish for at most the
    /// configured grace period, then closes the database pool.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        tracing::info!(grace_secs = self.grace.as_secs(), "shutting down");
        let _ = self.stop.send(true);
        self.crl_refresher.abort();
        self.logout_sender.abort();
        self.authority_expiry.abort();
        // A chunk cut short rolls back whole; the job's lease runs out and a worker
        // (this instance's next start, or another instance) goes on with it.
        self.batch_worker.abort();
        self.signing_callbacks.abort();
        let mut task = self.task;
        match tokio::time::timeout(self.grace, &mut task).await {
            Ok(joined) => joined.context("server task failed")??,
            Err(_) => {
                // Stops accepting; requests still running end when the process exits,
                // which `tongban serve` does right after this returns.
                tracing::warn!("in-flight requests outlived the grace period; abandoning them");
                task.abort();
            }
        }
        // Requests that finished during the grace period promised their entries within
        // a second: one last integration keeps the promise before the instance goes.
        self.log_integrator.abort();
        if let Err(error) = self
            .ledger
            .integrate(tongban_core::time::Timestamp::now())
            .await
        {
            tracing::warn!(%error, "last log integration failed; the next instance to start integrates");
        }
        // What the last requests counted, written before the pool closes.
        self.tally_writer.abort();
        if let Err(error) = self.store.flush_tallies().await {
            tracing::warn!(%error, "the last daily tallies were not written");
        }
        self.database_watcher.abort();
        self.change_listener.abort();
        if tokio::time::timeout(POOL_CLOSE_TIMEOUT, self.store.close())
            .await
            .is_err()
        {
            tracing::warn!("database pool did not close in time");
        }
        tracing::info!("shutdown complete");
        Ok(())
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
