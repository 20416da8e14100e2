//! What a browser's request carries besides its form: the client's address (behind
//! trusted proxies, from `X-Forwarded-For`) and the login-flow cookie.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use tongban_identity::sso::PostedIn;

use crate::problem::{ApiError, ProblemType};
use crate::state::AppState;

pub(crate) const SESSION_COOKIE: &str = "__Host-tongban-session";
pub(crate) const FLOW_COOKIE: &str = "__Host-tongban-flow";

/// The value of cookie `name`.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The client's address: the peer, or — when the peer is a trusted proxy — the
/// rightmost `X-Forwarded-For` entry that is not a trusted proxy itself (entries left of
/// it could be forged by the client).
pub(crate) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|hop| hop.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
}

/// The client's address: the peer, or the address a trusted proxy forwarded.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Served without connection info only by a misconfigured server.
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .ok_or_else(|| ApiError::new(ProblemType::Internal, "no peer address"))?;
        let trusted = &state.http.trusted_proxies;
        Ok(Self(client_ip(peer.ip(), &parts.headers, trusted)))
    }
}

/// The browser's login-flow cookie, if it sent one.
#[derive(Clone, Debug)]
pub struct FlowCookie(pub Option<String>);

impl FlowCookie {
    /// The flow a form carrying `csrf_token` was posted in.
    pub fn posted<'a>(&'a self, csrf_token: &'a str) -> PostedIn<'a> {
        PostedIn {
            flow_cookie: self.0.as_deref(),
            csrf_token,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for FlowCookie {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(Self(cookie(&parts.headers, FLOW_COOKIE)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            "1.2.3.4, 203.0.113.9, 10.0.0.1".parse().unwrap(),
        );
        let client: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(proxy, &headers, &[proxy]), client);
        // From an untrusted peer the header is ignored.
        let stranger: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_ip(stranger, &headers, &[proxy]), stranger);
        // Nothing usable: the proxy itself.
        assert_eq!(client_ip(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
