//! Fault injection for testing SCIM clients against a misbehaving target: a share of requests
//! answered with an error status, a rate limit with `Retry-After`, added latency, and
//! connections dropped mid-response. Off by default; reproducible with a seed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use provisio_scim::error::ScimError;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::http::ApiError;
use crate::AppState;

/// What to inject. All zero/`None` (the default) injects nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Share of requests (0..=1) answered with `fault_status`.
    pub fault_rate: f64,
    pub fault_status: u16,
    /// Requests per second served before answering 429 with `Retry-After`.
    pub rate_limit: Option<u32>,
    /// Added to every request.
    pub latency_ms: u64,
    /// Share of requests (0..=1) whose connection is closed mid-response.
    pub drop_rate: f64,
    /// Seed for the random choices; `None` seeds from the OS.
    pub seed: Option<u64>,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            fault_rate: 0.0,
            fault_status: 503,
            rate_limit: None,
            latency_ms: 0,
            drop_rate: 0.0,
            seed: None,
        }
    }
}

impl FaultConfig {
    pub fn is_active(&self) -> bool {
        self.fault_rate > 0.0
            || self.rate_limit.is_some()
            || self.latency_ms > 0
            || self.drop_rate > 0.0
    }
}

pub struct FaultInjector {
    config: FaultConfig,
    rng: Mutex<SmallRng>,
    window: Mutex<(Instant, u32)>,
}

enum Decision {
    Pass,
    RateLimited,
    Fault,
    Drop,
}

impl FaultInjector {
    pub fn new(config: FaultConfig) -> Self {
        let rng = match config.seed {
            Some(s) => SmallRng::seed_from_u64(s),
            None => SmallRng::from_os_rng(),
        };
        FaultInjector {
            config,
            rng: Mutex::new(rng),
            window: Mutex::new((Instant::now(), 0)),
        }
    }

    fn decide(&self) -> Decision {
        if let Some(limit) = self.config.rate_limit {
            let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
            if w.0.elapsed() >= Duration::from_secs(1) {
                *w = (Instant::now(), 0);
            }
            if w.1 >= limit {
                return Decision::RateLimited;
            }
            w.1 += 1;
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        // Always draw both numbers so a seed gives the same sequence whatever the rates.
        let fault: f64 = rng.random();
        let drop: f64 = rng.random();
        if fault < self.config.fault_rate {
            Decision::Fault
        } else if drop < self.config.drop_rate {
            Decision::Drop
        } else {
            Decision::Pass
        }
    }

    fn seconds_to_next_window(&self) -> u64 {
        let w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        1u64.saturating_sub(w.0.elapsed().as_secs()).max(1)
    }
}

pub async fn inject(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let faults = &state.faults;
    if !faults.config.is_active() {
        return next.run(req).await;
    }
    if faults.config.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.config.latency_ms)).await;
    }
    match faults.decide() {
        Decision::Pass => next.run(req).await,
        Decision::RateLimited => {
            let mut r =
                ApiError(ScimError::new(429, None, "too many requests: slow down")).into_response();
            if let Ok(v) = HeaderValue::from_str(&faults.seconds_to_next_window().to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        }
        Decision::Fault => {
            let status = faults.config.fault_status;
            let mut r = ApiError(ScimError::new(status, None, "injected fault")).into_response();
            if status == 503 || status == 429 {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            r
        }
        Decision::Drop => {
            // Run the request for real, then cut the body in half and fail the stream so
            // the server closes the connection mid-response.
            let resp = next.run(req).await;
            let (mut parts, body) = resp.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let half = bytes.slice(0..bytes.len() / 2);
            parts.headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(bytes.len().max(1)),
            );
            if parts.status == StatusCode::NO_CONTENT {
                parts.status = StatusCode::OK;
            }
            let chunks: Vec<Result<bytes::Bytes, std::io::Error>> = vec![
                Ok(half),
                Err(std::io::Error::other("injected connection drop")),
            ];
            Response::from_parts(parts, Body::from_stream(futures::stream::iter(chunks)))
        }
    }
}
