//! Layers every request passes through, one concern per module, outermost first:
//! request id → observation (log + metrics) → security headers → page preferences →
//! problem fallback → log promise → timeout. The body limit is enforced by the extractors (`DefaultBodyLimit`).

pub mod log_promise;
pub mod observe;
pub mod page_prefs;
pub mod problem_fallback;
pub mod request_id;
pub mod security_headers;
pub mod timeout;
