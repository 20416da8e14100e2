//! Instance-local caches of rows another instance may change, kept fresh through
//! PostgreSQL `LISTEN/NOTIFY`.
//!
//! The rule, for every cache here: a change is seen at once on the instance that
//! commits it, and within [`FRESH`] on every other; while that cannot be shown, the
//! cache is not used and callers read the database.
//! - A domain change names what it changed with [`Changes::announce`] in its
//!   transaction. PostgreSQL delivers the notification to every listening instance
//!   when (and only if) the transaction commits.
//! - Until this instance hears its own announcement back, the key is *unsettled*: it
//!   is neither served nor stored, so a verification right after the commit reads the
//!   database even before the notification arrives.
//! - Each instance also notifies itself a heartbeat every [`HEARTBEAT_EVERY`], on a
//!   connection of its own. Notifications arrive in commit order, so hearing a
//!   heartbeat sent at `t` means every change committed before `t` has been heard. A
//!   cached value is served only while the newest heartbeat heard was sent less than
//!   [`FRESH`] ago; it is current as of that moment (or its own read, if later), which
//!   is the time a report states.
//! - A lost listening connection clears every cache: what was announced meanwhile is
//!   gone.
//!
//! SQLite has no such channel, so its caches are never used: several processes may
//! share one file, and none could tell the others of a change.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use sqlx::any::AnyConnectOptions;
use sqlx::postgres::PgListener;
use sqlx::{AnyConnection, ConnectOptions};
use tongban_core::time::Timestamp;

use crate::error::StoreError;
use crate::pool::Engine;

/// The notification channel every instance listens on.
pub const CHANNEL: &str = "tongban_changes";

/// How long after the newest heartbeat heard a cached value may still be served: the
/// longest an instance can go unaware of another's change.
pub const FRESH: Duration = Duration::from_millis(1000);

/// How often an instance notifies itself a heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_millis(200);

/// How long one heartbeat may take; a slower one is given up and its connection made
/// anew.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_millis(600);

/// A listener that hears nothing, not even its heartbeats, for this long is taken for
/// dead (a connection the network swallowed without an error) and made anew.
const SILENCE: Duration = Duration::from_secs(3);

/// An announcement not heard back within this long (its transaction rolled back, or
/// the listener was away) no longer holds its key out of the caches.
const UNSETTLED_FOR: Duration = Duration::from_secs(30);

/// Entries one cache holds at most; beyond it, an arbitrary one makes room.
pub const CAPACITY: usize = 10_000;

/// The changes this instance hears of, and the caches they keep fresh. One per
/// [`crate::Store`], shared by its clones.
pub struct Changes {
    engine: Engine,
    /// Names this instance in its notifications (process id and start time).
    instance: String,
    next: AtomicU64,
    state: Mutex<State>,
    caches: Mutex<Vec<Registered>>,
}

struct Registered {
    topic: &'static str,
    typed: Arc<dyn Any + Send + Sync>,
    forget: Arc<dyn Forget>,
}

#[derive(Default)]
struct State {
    /// The listening connection is up, and every cache was cleared when it came.
    listening: bool,
    /// Heartbeats sent and not yet heard: sequence, when (monotonic and wall clock).
    sent: VecDeque<(u64, Instant, Timestamp)>,
    /// When the newest heartbeat heard was sent.
    heard: Option<(Instant, Timestamp)>,
    /// This instance's announcements not yet heard back: sequence → topic, key, when.
    unsettled: HashMap<u64, (&'static str, String, Instant)>,
}

impl Changes {
    pub(crate) fn new(engine: Engine) -> Self {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        Self {
            engine,
            instance: format!("{}-{started:x}", std::process::id()),
            next: AtomicU64::new(1),
            state: Mutex::default(),
            caches: Mutex::default(),
        }
    }

    /// The cache of `topic` holding `V`s, made on first use.
    pub fn cache<V: Clone + Send + Sync + 'static>(
        self: &Arc<Self>,
        topic: &'static str,
    ) -> Arc<Cache<V>> {
        let Ok(mut caches) = self.caches.lock() else {
            // A poisoned registry: a cache of its own that is never filled.
            return Arc::new(Cache::new(topic, Weak::new()));
        };
        if let Some(found) = caches
            .iter()
            .filter(|c| c.topic == topic)
            .find_map(|c| c.typed.clone().downcast::<Cache<V>>().ok())
        {
            return found;
        }
        let cache = Arc::new(Cache::new(topic, Arc::downgrade(self)));
        caches.push(Registered {
            topic,
            typed: cache.clone(),
            forget: cache.clone(),
        });
        cache
    }

    /// Tells every instance, when the caller's transaction commits, that what `key`
    /// names in `topic` changed. Until this instance hears it back, the key is not
    /// served from its cache here. On SQLite it does nothing: no cache is used there.
    pub async fn announce(
        &self,
        conn: &mut crate::Conn,
        topic: &'static str,
        key: &str,
    ) -> Result<(), StoreError> {
        if self.engine != Engine::Postgres {
            return Ok(());
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut state) = self.state.lock() {
            let now = Instant::now();
            state
                .unsettled
                .retain(|_, (_, _, at)| now.duration_since(*at) < UNSETTLED_FOR);
            state.unsettled.insert(seq, (topic, key.to_owned(), now));
        }
        let payload = format!("ch {} {seq} {topic} {key}", self.instance);
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// When the caches are current as of, if they may be used now.
    fn fresh_as_of(&self) -> Option<Timestamp> {
        let state = self.state.lock().ok()?;
        let (heard, at) = state.heard.filter(|_| state.listening)?;
        (heard.elapsed() < FRESH).then_some(at)
    }

    fn is_unsettled(&self, topic: &str, key: &str) -> bool {
        self.state.lock().map_or(true, |state| {
            state
                .unsettled
                .values()
                .any(|(t, k, at)| *t == topic && k == key && at.elapsed() < UNSETTLED_FOR)
        })
    }

    fn each_cache(&self, topic: Option<&str>, act: impl Fn(&dyn Forget)) {
        let caches: Vec<Arc<dyn Forget>> = match self.caches.lock() {
            Ok(caches) => caches
                .iter()
                .filter(|c| topic.is_none_or(|t| t == c.topic))
                .map(|c| c.forget.clone())
                .collect(),
            Err(_) => return,
        };
        for cache in caches {
            act(cache.as_ref());
        }
    }

    /// The listening connection came up (`true`) or went (`false`): either way what
    /// was cached may have missed announcements, and no heartbeat from before counts.
    fn listening(&self, up: bool) {
        if let Ok(mut state) = self.state.lock() {
            state.listening = up;
            state.sent.clear();
            state.heard = None;
        }
        self.each_cache(None, |cache| cache.clear());
    }

    /// One notification heard on [`CHANNEL`].
    fn hear(&self, payload: &str) {
        let mut words = payload.splitn(5, ' ');
        let (kind, instance, seq) = (words.next(), words.next(), words.next());
        let seq = seq.and_then(|s| s.parse::<u64>().ok());
        let own = instance == Some(self.instance.as_str());
        match (kind, seq) {
            (Some("hb"), Some(seq)) if own => {
                if let Ok(mut state) = self.state.lock() {
                    while let Some(&(sent, at, wall)) = state.sent.front() {
                        if sent > seq {
                            break;
                        }
                        state.sent.pop_front();
                        if sent == seq {
                            state.heard = Some((at, wall));
                        }
                    }
                }
            }
            (Some("ch"), Some(seq)) => {
                let (Some(topic), Some(key)) = (words.next(), words.next()) else {
                    return;
                };
                // Forgotten first, settled after: in between, the key is neither served
                // nor stored.
                self.each_cache(Some(topic), |cache| cache.forget(key));
                if own && let Ok(mut state) = self.state.lock() {
                    state.unsettled.remove(&seq);
                }
            }
            _ => {}
        }
    }

    /// Listens for changes and sends heartbeats until the task is aborted; returns at
    /// once for SQLite.
    pub(crate) async fn watch(&self, options: &AnyConnectOptions, connect_timeout: Duration) {
        if self.engine != Engine::Postgres {
            return;
        }
        tokio::join!(
            self.listen(options.database_url.as_str(), connect_timeout),
            self.beat(options, connect_timeout)
        );
    }

    async fn listen(&self, url: &str, connect_timeout: Duration) {
        loop {
            match tokio::time::timeout(connect_timeout, PgListener::connect(url)).await {
                Ok(Ok(mut listener)) => {
                    listener.eager_reconnect(false);
                    if listener.listen(CHANNEL).await.is_ok() {
                        self.listening(true);
                        tracing::info!("listening for changes from other instances");
                        self.hear_until_lost(&mut listener).await;
                        self.listening(false);
                        tracing::warn!(
                            "lost the connection that hears other instances' changes: caches unused until it is back"
                        );
                    }
                }
                Ok(Err(error)) => tracing::debug!(%error, "cannot listen for changes yet"),
                Err(_) => tracing::debug!("cannot listen for changes yet: no connection"),
            }
            tokio::time::sleep(HEARTBEAT_EVERY).await;
        }
    }

    async fn hear_until_lost(&self, listener: &mut PgListener) {
        loop {
            match tokio::time::timeout(SILENCE, listener.try_recv()).await {
                Ok(Ok(Some(notification))) => self.hear(notification.payload()),
                // Lost, failed or silent: the caller makes a new connection (a timed
                // out receive leaves this one unusable anyway).
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => return,
            }
        }
    }

    async fn beat(&self, options: &AnyConnectOptions, connect_timeout: Duration) {
        let mut ticks = tokio::time::interval(HEARTBEAT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut conn: Option<AnyConnection> = None;
        loop {
            ticks.tick().await;
            if self
                .heartbeat(options, &mut conn, connect_timeout)
                .await
                .is_err()
            {
                conn = None;
            }
        }
    }

    async fn heartbeat(
        &self,
        options: &AnyConnectOptions,
        conn: &mut Option<AnyConnection>,
        connect_timeout: Duration,
    ) -> Result<(), ()> {
        let conn = match conn {
            Some(conn) => conn,
            None => match tokio::time::timeout(connect_timeout, options.connect()).await {
                Ok(Ok(made)) => conn.insert(made),
                _ => return Err(()),
            },
        };
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        // Recorded before it is sent: hearing it proves only what committed before.
        if let Ok(mut state) = self.state.lock() {
            if state.sent.len() >= 64 {
                state.sent.pop_front();
            }
            state
                .sent
                .push_back((seq, Instant::now(), Timestamp::now()));
        }
        let payload = format!("hb {} {seq}", self.instance);
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(&mut *conn);
        match tokio::time::timeout(HEARTBEAT_TIMEOUT, sent).await {
            Ok(Ok(_)) => Ok(()),
            _ => Err(()),
        }
    }
}

/// What a cache does when told of a change.
trait Forget: Send + Sync {
    fn forget(&self, key: &str);
    fn clear(&self);
}

/// An instance-local cache of values read from the database, by key, kept fresh as
/// the module says.
pub struct Cache<V> {
    topic: &'static str,
    changes: Weak<Changes>,
    inner: Mutex<Entries<V>>,
}

struct Entries<V> {
    values: HashMap<String, (V, Timestamp)>,
    /// Moves on with every forgetting: a read begun before it is not stored.
    epoch: u64,
}

/// What a cache had for a key.
pub enum Lookup<V> {
    /// The value, current as of the time given.
    Hit(V, Timestamp),
    /// Nothing usable: read the database, and give the value to [`Cache::put`] with
    /// this ticket.
    Miss(Ticket),
}

/// A read of the database that may fill a cache: taken before the read.
#[derive(Clone, Copy, Debug)]
pub struct Ticket {
    epoch: Option<u64>,
    read_at: Timestamp,
}

impl Ticket {
    /// When the read began: the time a value read with it is current as of.
    pub fn read_at(&self) -> Timestamp {
        self.read_at
    }
}

impl<V: Clone> Cache<V> {
    fn new(topic: &'static str, changes: Weak<Changes>) -> Self {
        Self {
            topic,
            changes,
            inner: Mutex::new(Entries {
                values: HashMap::new(),
                epoch: 0,
            }),
        }
    }

    /// The value for `key` if the cache may serve it now.
    pub fn get(&self, key: &str) -> Lookup<V> {
        let read_at = Timestamp::now();
        let unusable = Lookup::Miss(Ticket {
            epoch: None,
            read_at,
        });
        let Some(changes) = self.changes.upgrade() else {
            return unusable;
        };
        let Some(fresh) = changes.fresh_as_of() else {
            return unusable;
        };
        if changes.is_unsettled(self.topic, key) {
            return unusable;
        }
        let Ok(inner) = self.inner.lock() else {
            return unusable;
        };
        match inner.values.get(key) {
            Some((value, read)) => Lookup::Hit(value.clone(), fresh.max(*read)),
            None => Lookup::Miss(Ticket {
                epoch: Some(inner.epoch),
                read_at,
            }),
        }
    }

    /// Keeps `value`, read with `ticket`, unless something was forgotten since the
    /// ticket was taken or the key is unsettled here.
    pub fn put(&self, ticket: Ticket, key: &str, value: V) {
        let Some(epoch) = ticket.epoch else {
            return;
        };
        let Some(changes) = self.changes.upgrade() else {
            return;
        };
        if changes.is_unsettled(self.topic, key) {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.epoch != epoch {
            return;
        }
        if inner.values.len() >= CAPACITY
            && !inner.values.contains_key(key)
            && let Some(any) = inner.values.keys().next().cloned()
        {
            inner.values.remove(&any);
        }
        inner.values.insert(key.to_owned(), (value, ticket.read_at));
    }

    /// Entries held now.
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |inner| inner.values.len())
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<V: Clone + Send + Sync> Forget for Cache<V> {
    fn forget(&self, key: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.values.remove(key);
            inner.epoch += 1;
        }
    }

    fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.values.clear();
            inner.epoch += 1;
        }
    }
}
