//! [`FaultProxy`]: a TCP proxy in front of a database that a test can switch off, to
//! see what the server does when the database goes away and comes back.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Forwarding.
const UP: u8 = 0;
/// Every connection cut, new ones refused: a database that stopped.
const DOWN: u8 = 1;
/// Nothing forwarded and nothing answered, every connection held open: a network that
/// swallows packets, where only a timeout tells.
const SILENT: u8 = 2;

/// A TCP proxy to a database that a test can switch off: [`FaultProxy::go_down`] cuts
/// connections and refuses new ones, [`FaultProxy::go_silent`] holds them and answers
/// nothing, until [`FaultProxy::come_back`].
pub struct FaultProxy {
    /// Where clients connect.
    pub addr: SocketAddr,
    mode: watch::Sender<u8>,
}

impl FaultProxy {
    /// Starts forwarding to `target`.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let mode = watch::Sender::new(UP);
        let modes = mode.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let (mut switched, mut held) = (modes.subscribe(), modes.subscribe());
                match *switched.borrow_and_update() {
                    DOWN => {
                        drop(inbound);
                        continue;
                    }
                    SILENT => {
                        tokio::spawn(async move {
                            let _ = held.wait_for(|m| *m == UP).await;
                            drop(inbound);
                        });
                        continue;
                    }
                    _ => {}
                }
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = switched.wait_for(|m| *m != UP) => {}
                    }
                    // Silent: the client's socket stays open and hears nothing more.
                    if *held.borrow_and_update() == SILENT {
                        let _ = held.wait_for(|m| *m == UP).await;
                    }
                });
            }
        });
        Self { addr, mode }
    }

    /// Cuts every connection and refuses new ones.
    pub fn go_down(&self) {
        self.mode.send_replace(DOWN);
    }

    /// Holds every connection open and answers nothing, on old or new ones.
    pub fn go_silent(&self) {
        self.mode.send_replace(SILENT);
    }

    /// Forwards again.
    pub fn come_back(&self) {
        self.mode.send_replace(UP);
    }
}
