//! Identity rules that need the database: login throttling across instances, on both
//! engines.

#![allow(clippy::unwrap_used)]

mod support;

use support::{TestDb, test_config};
use tongban_core::time::Timestamp;
use tongban_identity::throttle::{self, ACCOUNT_THRESHOLD, ThrottleKey, WINDOW_MS};
use tongban_store::Store;

async fn store() -> (Store, TestDb) {
    let db = TestDb::new().await;
    let store = Store::connect(&test_config(&db.url).database)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, db)
}

#[tokio::test]
async fn repeated_failures_lock_an_account_with_growing_back_off() {
    let (store, _db) = store().await;
    let key = ThrottleKey::account(" Zhang.San@Example.cn ");
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    let mut conn = store.conn().await.unwrap();
    for _ in 0..ACCOUNT_THRESHOLD {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, t0).await.unwrap(),
            None
        );
    }
    assert_eq!(
        throttle::check(&mut conn, std::slice::from_ref(&key), t0)
            .await
            .unwrap(),
        Ok(())
    );
    let first = throttle::record_failure(&mut conn, &key, t0)
        .await
        .unwrap()
        .unwrap();
    let second = throttle::record_failure(&mut conn, &key, t0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((first.retry_after_secs, second.retry_after_secs), (1, 2));
    // The same identifier typed differently is the same key.
    let same = ThrottleKey::account("zhang.san@example.cn");
    let locked = throttle::check(&mut conn, &[same], t0)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(locked.retry_after_secs, 2);
    // The lock ends by itself; success clears the count.
    let later = Timestamp::from_unix_millis(t0.unix_millis() + 2_001);
    assert_eq!(
        throttle::check(&mut conn, std::slice::from_ref(&key), later)
            .await
            .unwrap(),
        Ok(())
    );
    throttle::clear(&mut conn, &key).await.unwrap();
    assert_eq!(
        throttle::record_failure(&mut conn, &key, later)
            .await
            .unwrap(),
        None
    );
    drop(conn);
    store.close().await;
}

#[tokio::test]
async fn failures_outside_the_window_start_a_new_count() {
    let (store, _db) = store().await;
    let key = ThrottleKey::address("203.0.113.7".parse().unwrap());
    let t0 = Timestamp::from_unix_millis(1_800_000_000_000);
    let mut conn = store.conn().await.unwrap();
    for _ in 0..20 {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, t0).await.unwrap(),
            None
        );
    }
    // After the window a new count starts: 20 more failures pass, the 21st locks.
    let after_window = Timestamp::from_unix_millis(t0.unix_millis() + WINDOW_MS + 1);
    for _ in 0..20 {
        assert_eq!(
            throttle::record_failure(&mut conn, &key, after_window)
                .await
                .unwrap(),
            None
        );
    }
    assert!(
        throttle::record_failure(&mut conn, &key, after_window)
            .await
            .unwrap()
            .is_some()
    );
    drop(conn);
    store.close().await;
}
