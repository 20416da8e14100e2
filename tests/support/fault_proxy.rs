//! [`FaultProxy`]: a TCP proxy in front of a database that a test can switch off, to
//! see what the server does when the database goes away and comes back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;

/// A TCP proxy to a database that a test can switch off: existing connections are cut
/// and new ones are refused until it is switched on again.
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    down: Arc<AtomicBool>,
    cut: broadcast::Sender<()>,
}

impl FaultProxy {
    /// Starts forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let down = Arc::new(AtomicBool::new(false));
        let (cut, _) = broadcast::channel(4);
        let (down_task, cut_task) = (down.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if down_task.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = cut_task.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.recv() => {}
                    }
                });
            }
        });
        Self { addr, down, cut }
    }

    /// Cuts every connection and refuses new ones.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        let _ = self.cut.send(());
    }

    /// Accepts connections again.
    pub fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}
