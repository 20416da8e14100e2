//! Values that never change once stored, kept in memory after their first read (opened
//! keys, certified chains), shared by clones, with a bound against unbounded growth.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Entries kept at most; past it the map starts afresh (keys and seals are few).
const KEPT: usize = 4_096;

/// Values by id.
pub struct Kept<V> {
    map: Arc<Mutex<HashMap<String, V>>>,
}

impl<V> Clone for Kept<V> {
    fn clone(&self) -> Self {
        Self {
            map: self.map.clone(),
        }
    }
}

impl<V> Default for Kept<V> {
    fn default() -> Self {
        Self {
            map: Arc::default(),
        }
    }
}

impl<V: Clone> Kept<V> {
    /// A panic elsewhere while holding the map leaves it whole.
    fn map(&self) -> MutexGuard<'_, HashMap<String, V>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value kept for `id`.
    pub fn get(&self, id: &str) -> Option<V> {
        self.map().get(id).cloned()
    }

    /// Keeps `value` for `id`.
    pub fn keep(&self, id: &str, value: V) {
        let mut map = self.map();
        if map.len() >= KEPT {
            map.clear();
        }
        map.insert(id.to_owned(), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_kept_and_shared_by_clones_within_the_bound() {
        let kept = Kept::<u32>::default();
        let clone = kept.clone();
        kept.keep("a", 1);
        assert_eq!(clone.get("a"), Some(1));
        assert_eq!(clone.get("b"), None);
        for i in 0..KEPT as u32 {
            kept.keep(&i.to_string(), i);
        }
        assert!(kept.map().len() <= KEPT);
    }
}
