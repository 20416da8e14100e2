//! Failing fast while the database is away. A watcher checks PostgreSQL a few times a
//! second on a connection of its own (outside the pool, so a busy pool never looks
//! like an outage); while a check fails, the store refuses connections at once with
//! [`StoreError::Down`] instead of letting each request wait out the pool's timeout,
//! and requests already waiting for a connection are answered the same moment. The
//! first check that passes again closes the circuit.
//!
//! SQLite is a file beside the process: it is not watched.

use std::future::Future;
use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::any::AnyConnectOptions;
use sqlx::{ConnectOptions, Connection};
use tokio::sync::watch;

use crate::error::StoreError;

/// How often the watcher checks the database.
pub const CHECK_EVERY: Duration = Duration::from_millis(200);

/// How long one check on the watcher's connection may take. With [`CHECK_EVERY`] it
/// bounds how long a request can wait before the store knows the database is away:
/// 0.8 s when the network swallows packets, one interval when the connection is refused
/// or cut. Making the connection is given the pool's own timeout instead: a login to a
/// distant server may take longer than a query.
pub const CHECK_TIMEOUT: Duration = Duration::from_millis(600);

/// PostgreSQL's "too many connections": the server answers, so it is up.
const TOO_MANY_CONNECTIONS: &str = "53300";

/// Whether the database failed its last check.
pub(crate) struct Circuit {
    open: watch::Sender<bool>,
}

impl Default for Circuit {
    fn default() -> Self {
        Self {
            open: watch::Sender::new(false),
        }
    }
}

impl Circuit {
    /// Whether the store refuses connections now.
    pub(crate) fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// Runs `acquire` unless the circuit is open, and gives up on it the moment the
    /// circuit opens.
    pub(crate) async fn guard<T>(
        &self,
        acquire: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let mut open = self.open.subscribe();
        if *open.borrow_and_update() {
            return Err(StoreError::Down);
        }
        tokio::select! {
            result = acquire => Ok(result?),
            _ = open.wait_for(|open| *open) => Err(StoreError::Down),
        }
    }

    /// Records a check's result; true when it changed the state.
    fn set(&self, open: bool) -> bool {
        self.open.send_if_modified(|state| {
            let changed = *state != open;
            *state = open;
            changed
        })
    }

    /// Checks the database until the task is aborted; `connect_timeout` bounds making
    /// the watcher's connection.
    pub(crate) async fn watch(&self, options: AnyConnectOptions, connect_timeout: Duration) {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<AnyConnection> = None;
        loop {
            ticks.tick().await;
            let error = check(&options, &mut conn, connect_timeout).await.err();
            if error.is_some() {
                // A connection that failed a check is not trusted with the next.
                conn = None;
            }
            if self.set(error.is_some()) {
                match error {
                    Some(error) => {
                        tracing::warn!(%error, "database unreachable: refusing requests at once until it answers");
                    }
                    None => tracing::info!("database answers again"),
                }
            }
        }
    }
}

/// One check: `SELECT 1` on the watcher's connection, made first if there is none.
async fn check(
    options: &AnyConnectOptions,
    conn: &mut Option<AnyConnection>,
    connect_timeout: Duration,
) -> Result<(), String> {
    let conn = match conn {
        Some(conn) => conn,
        None => match tokio::time::timeout(connect_timeout, options.connect()).await {
            Ok(Ok(made)) => conn.insert(made),
            // Full, not away: the pool's connections still serve.
            Ok(Err(sqlx::Error::Database(db)))
                if db.code().as_deref() == Some(TOO_MANY_CONNECTIONS) =>
            {
                return Ok(());
            }
            Ok(Err(error)) => return Err(error.to_string()),
            Err(_) => return Err(format!("no connection within {connect_timeout:?}")),
        },
    };
    match tokio::time::timeout(CHECK_TIMEOUT, conn.ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_open_circuit_refuses_at_once_and_stops_those_waiting() {
        let circuit = std::sync::Arc::new(Circuit::default());
        let ok = circuit.guard(async { Ok::<_, sqlx::Error>(1) }).await;
        assert_eq!(ok.ok(), Some(1));
        // A connection that never comes: the opening circuit ends the wait.
        let waiting = {
            let circuit = circuit.clone();
            tokio::spawn(async move {
                circuit
                    .guard(std::future::pending::<Result<(), sqlx::Error>>())
                    .await
            })
        };
        tokio::task::yield_now().await;
        assert!(circuit.set(true));
        assert!(!circuit.set(true), "no change, no transition");
        assert!(matches!(waiting.await.unwrap(), Err(StoreError::Down)));
        let refused = circuit.guard(async { Ok::<_, sqlx::Error>(()) }).await;
        assert!(matches!(refused, Err(StoreError::Down)));
        assert!(circuit.set(false));
        assert!(
            circuit
                .guard(async { Ok::<_, sqlx::Error>(()) })
                .await
                .is_ok()
        );
    }
}
