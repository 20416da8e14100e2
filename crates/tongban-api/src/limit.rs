//! A per-address budget for public, expensive endpoints (verifications), shared by
//! every instance: `limit` per fixed window for all of them together. An instance takes
//! a slice of an address's budget from the database (`tongban_store::rate_leases`) and
//! spends it in memory, asking again when it is spent: one write per slice, not per
//! request, and never more than `limit` in a window however many instances run. A
//! slice left on one instance when a window ends is lost to the others, so a client
//! spread over instances may get up to a slice less per instance. On an instance, one
//! request at a time asks for an address's next slice; the others wait for its answer.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tongban_store::{Store, StoreError, rate_leases};

/// Slices per budget: a tenth of it at a time (at least one).
const SLICES: u32 = 10;

/// Entries kept in memory before those of ended windows are dropped.
const MAX_LOCAL: usize = 10_000;

/// What this instance holds of one address's budget in one window.
#[derive(Default)]
struct Held {
    window: i64,
    taken: u32,
    spent: u32,
    /// The shared budget gave less than a slice: nothing more this window, so refusals
    /// are answered from memory, without a write each.
    exhausted: bool,
    /// Held by the request asking the shared budget for the next slice. Without it,
    /// concurrent requests would each take a slice, together take the window's whole
    /// budget, and those answered "nothing left" would be refused while the slices of
    /// the others were still arriving in memory.
    asking: Arc<tokio::sync::Mutex<()>>,
}

/// What spending one request found.
enum Spent {
    Yes,
    /// Nothing held; the shared budget may have more. Ask it while holding this.
    Ask(Arc<tokio::sync::Mutex<()>>),
    /// Nothing held, and the shared budget is spent.
    No,
}

/// At most `limit` requests per `window` from one address, across instances.
pub struct RateLimiter {
    limit: u32,
    window_ms: i64,
    slice: u32,
    held: Mutex<HashMap<IpAddr, Held>>,
    forgotten_before: AtomicI64,
}

impl RateLimiter {
    /// A limiter of `limit` requests per `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX).max(1),
            slice: (limit / SLICES).max(1),
            held: Mutex::new(HashMap::new()),
            forgotten_before: AtomicI64::new(0),
        }
    }

    /// Spends one request of `ip`'s budget at `now_ms` (Unix ms): `Ok(Err(seconds to
    /// wait))` when the budget of this window is spent.
    pub async fn check(
        &self,
        store: &Store,
        ip: IpAddr,
        now_ms: i64,
    ) -> Result<Result<(), u64>, StoreError> {
        let window = now_ms - now_ms.rem_euclid(self.window_ms);
        let wait = |window: i64| {
            u64::try_from(window + self.window_ms - now_ms)
                .unwrap_or(0)
                .div_ceil(1000)
                .max(1)
        };
        let asking = match self.spend(ip, window, None) {
            Spent::Yes => return Ok(Ok(())),
            Spent::No => return Ok(Err(wait(window))),
            Spent::Ask(_) if self.limit == 0 => return Ok(Err(wait(window))),
            Spent::Ask(asking) => asking,
        };
        let _asking = asking.lock().await;
        // What the request asking before this one got may pay for it.
        match self.spend(ip, window, None) {
            Spent::Yes => return Ok(Ok(())),
            Spent::No => return Ok(Err(wait(window))),
            Spent::Ask(_) => {}
        }
        let mut conn = store.conn().await?;
        // Once per window per instance, the ended windows go.
        if self.forgotten_before.fetch_max(window, Ordering::Relaxed) < window {
            rate_leases::forget_before(&mut conn, window).await?;
        }
        let key = format!("verify:{ip}");
        let slice = i64::from(self.slice);
        let mut taken = rate_leases::take(&mut conn, &key, window, slice).await?;
        if taken.window_start > window {
            // This request waited past its window's end (at a window's turn, under load):
            // it is counted in the window the shared budget has moved on to.
            taken = rate_leases::take(&mut conn, &key, taken.window_start, slice).await?;
        }
        let got = (i64::from(self.limit) - (taken.used - slice)).clamp(0, slice);
        let got = u32::try_from(got).unwrap_or(0);
        Ok(match self.spend(ip, taken.window_start, Some(got)) {
            Spent::Yes => Ok(()),
            Spent::Ask(_) | Spent::No => Err(wait(taken.window_start)),
        })
    }

    /// Adds `got` (from the shared budget, when it was asked) to what this instance
    /// holds of `ip`'s budget in `window` and spends one of it.
    fn spend(&self, ip: IpAddr, window: i64, got: Option<u32>) -> Spent {
        let mut held = self
            .held
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.len() > MAX_LOCAL {
            held.retain(|_, h| h.window >= window);
        }
        let entry = held.entry(ip).or_default();
        // Windows only move on: a request that waited past its window's end spends in
        // the one this instance has moved on to, and does not take it back.
        if entry.window < window {
            *entry = Held {
                window,
                ..Held::default()
            };
        }
        if let Some(got) = got {
            if entry.window > window {
                // A slice of a window this instance has left while asking: it pays for
                // this request alone; the rest of it ended with its window.
                return if got > 0 { Spent::Yes } else { Spent::No };
            }
            entry.taken += got;
            entry.exhausted |= got < self.slice;
        }
        if entry.spent < entry.taken {
            entry.spent += 1;
            Spent::Yes
        } else if entry.exhausted {
            Spent::No
        } else {
            Spent::Ask(entry.asking.clone())
        }
    }
}
