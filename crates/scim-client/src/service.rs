//! Sending requests: one keep-alive HTTP client per target, a semaphore bounding the requests
//! in flight, `Retry-After` honoured for 429 and 503 (and a doubling backoff for other
//! transient failures of requests that may be sent twice), answers read with a size cap and
//! failures classified into [`TargetError`]s.

use std::sync::Arc;
use std::time::Duration;

use provisio_engine::target::{ErrorClass, Page, TargetError, TargetObject};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

use crate::config::{ConfigError, RetryPolicy, ScimClientConfig, SCIM_MEDIA_TYPE};
use crate::request::ScimRequest;

/// At most this much of a non-SCIM answer is quoted in an error.
const QUOTED_BODY_CHARS: usize = 200;

/// A successful answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

/// The HTTP side of one target.
#[derive(Debug, Clone)]
pub struct ScimService {
    client: Client,
    /// The base URL without a trailing slash or query.
    base: String,
    /// The base URL's own query (`?api-version=2`), sent with every request.
    base_query: Option<String>,
    permits: Arc<Semaphore>,
    retry: RetryPolicy,
    max_response_bytes: usize,
}

/// How one attempt ended, before deciding on a retry.
enum Attempt {
    Answered(Answer),
    Failed {
        error: TargetError,
        /// Whether sending the request again may succeed and is safe.
        retryable: bool,
    },
}

impl ScimService {
    pub fn new(config: &ScimClientConfig) -> Result<Self, ConfigError> {
        let url_error = |reason: &str| ConfigError::BaseUrl {
            url: config.base_url.clone(),
            reason: reason.to_string(),
        };
        let parsed = Url::parse(config.base_url.trim()).map_err(|e| url_error(&e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(url_error("the scheme must be http or https"));
        }
        if parsed.fragment().is_some() {
            return Err(url_error("a base URL has no fragment"));
        }
        let base_query = parsed.query().filter(|q| !q.is_empty()).map(str::to_string);
        let mut base = parsed;
        base.set_query(None);
        let base = base.as_str().trim_end_matches('/').to_string();
        if config.max_concurrency == 0 {
            return Err(ConfigError::Concurrency);
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/scim+json, application/json"),
        );
        if !config.token.is_empty() {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", config.token.expose()))
                .map_err(|_| ConfigError::Token)?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        let client = Client::builder()
            .use_rustls_tls()
            .default_headers(headers)
            .user_agent(concat!("provisio-scim-client/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .pool_max_idle_per_host(config.max_concurrency)
            .tcp_keepalive(Duration::from_secs(60))
            // A SCIM endpoint that redirects is misconfigured; following would resend the
            // token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::Client(error_chain(&e)))?;
        Ok(ScimService {
            client,
            base,
            base_query,
            permits: Arc::new(Semaphore::new(config.max_concurrency)),
            retry: config.retry.clone(),
            max_response_bytes: config.max_response_bytes,
        })
    }

    /// Sends `req` until it succeeds (any 2xx) or fails for good.
    pub async fn send(&self, req: &ScimRequest) -> Result<Answer, TargetError> {
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (mut error, retryable) = match self.attempt(req).await {
                Attempt::Answered(answer) => return Ok(answer),
                Attempt::Failed { error, retryable } => (error, retryable),
            };
            error.attempts = attempts;
            let retries_done = attempts - 1;
            if !retryable || retries_done >= self.retry.max_retries {
                return Err(error);
            }
            let wait = match error.retry_after {
                Some(asked) if asked > self.retry.max_retry_after => return Err(error),
                Some(asked) => asked,
                None => self.retry.backoff(attempts),
            };
            tracing::debug!(
                method = %req.method,
                path = %req.described,
                attempt = attempts,
                wait_ms = wait.as_millis() as u64,
                "retrying: {error}"
            );
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, req: &ScimRequest) -> Attempt {
        let failed = |error: TargetError, retryable: bool| Attempt::Failed { error, retryable };
        let new_error = |class| TargetError::new(class, req.verb(), &req.described);
        // A closed semaphore cannot happen (it is never closed), but is no reason to panic.
        let Ok(_permit) = self.permits.acquire().await else {
            return failed(
                new_error(ErrorClass::Transient).with_detail("the client is shutting down"),
                false,
            );
        };
        let url = join_url(&self.base, self.base_query.as_deref(), &req.target);
        let mut builder = self.client.request(req.method.clone(), url);
        if let Some(body) = &req.body {
            builder = builder
                .header(CONTENT_TYPE, SCIM_MEDIA_TYPE)
                .body(body.to_string());
        }
        let mut response = match builder.send().await {
            Ok(response) => response,
            Err(e) => {
                // A connection never made means the request was never sent.
                let retryable = e.is_connect() || req.idempotent;
                let detail = transport_detail(&e);
                return failed(
                    new_error(ErrorClass::Transient).with_detail(detail),
                    retryable,
                );
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, OffsetDateTime::now_utc()));
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_response_bytes {
                        let error =
                            TargetError::answered(req.verb(), &req.described, status.as_u16());
                        let mut error = error.with_detail(format!(
                            "the answer is larger than {} bytes",
                            self.max_response_bytes
                        ));
                        error.class = ErrorClass::Incompatible;
                        return failed(error, false);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => {
                    let detail = format!("the answer broke off: {}", transport_detail(&e));
                    let error = new_error(ErrorClass::Transient)
                        .with_status(status.as_u16())
                        .with_detail(detail);
                    return failed(error, req.idempotent);
                }
            }
        }
        if status.is_success() {
            return Attempt::Answered(Answer {
                status: status.as_u16(),
                body,
                content_type,
            });
        }
        let mut error = TargetError::answered(req.verb(), &req.described, status.as_u16());
        error.retry_after = retry_after;
        let (detail, scim_type) = error_detail(&body);
        error.detail = detail;
        error.scim_type = scim_type;
        if status.is_redirection() {
            let to = location.unwrap_or_else(|| "nowhere".to_string());
            error.detail = Some(format!("redirects to {to}; check the base URL"));
        }
        // 429 and 503 say the request was not handled: safe to send again whatever it is.
        let retryable = matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) || (req.idempotent && error.class == ErrorClass::Transient);
        failed(error, retryable)
    }
}

/// The URL of a request: the base, the request's path, then the base's own query before
/// the request's.
fn join_url(base: &str, base_query: Option<&str>, target: &str) -> String {
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let mut url = format!("{base}{path}");
    let queries: Vec<&str> = base_query.into_iter().chain(query).collect();
    if !queries.is_empty() {
        url.push('?');
        url.push_str(&queries.join("&"));
    }
    url
}

/// A transport failure in words: timed out, could not connect, and the underlying cause.
fn transport_detail(e: &reqwest::Error) -> String {
    let cause = error_chain(e);
    if e.is_timeout() {
        format!("timed out ({cause})")
    } else if e.is_connect() {
        format!("could not connect ({cause})")
    } else {
        cause
    }
}

/// An error and its sources, without the URL reqwest adds (the error names the request).
fn error_chain(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut parts = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.contains(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    if parts.is_empty() {
        parts.push(e.to_string());
    }
    parts.join(": ")
}

/// The `detail` and `scimType` of a SCIM error body; for anything else, the start of the
/// body as text.
fn error_detail(body: &[u8]) -> (Option<String>, Option<String>) {
    if let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(body) {
        let text = |name: &str| {
            field(&fields, name).and_then(|v| match v {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            })
        };
        let detail = text("detail").or_else(|| text("message"));
        if detail.is_some() {
            return (detail, text("scimType"));
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        (None, None)
    } else {
        (Some(quote_start(text)), None)
    }
}

fn quote_start(text: &str) -> String {
    let mut out: String = text.chars().take(QUOTED_BODY_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// A JSON member by name in any letter case (SCIM attribute names are case-insensitive).
fn field<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).or_else(|| {
        fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

/// `Retry-After` as a wait from `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
/// A date in the past waits nothing.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let imf_fixdate = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, imf_fixdate)
        .ok()?
        .assume_utc();
    let wait = at - now;
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// A request failed because of what the target answered to it, not how.
fn incompatible(req: &ScimRequest, answer: &Answer, detail: impl Into<String>) -> TargetError {
    let mut error =
        TargetError::answered(req.verb(), &req.described, answer.status).with_detail(detail);
    error.class = ErrorClass::Incompatible;
    error
}

/// The answer's body as JSON.
fn json_body(req: &ScimRequest, answer: &Answer) -> Result<Value, TargetError> {
    serde_json::from_slice(&answer.body).map_err(|e| {
        let kind = answer.content_type.as_deref().unwrap_or("no Content-Type");
        let text = String::from_utf8_lossy(&answer.body);
        incompatible(
            req,
            answer,
            format!(
                "expected JSON, got {kind} ({e}): {}",
                quote_start(text.trim())
            ),
        )
    })
}

/// A resource from its JSON: it must be an object with an `id`.
fn object_from(value: Value) -> Result<TargetObject, String> {
    let Value::Object(fields) = value else {
        return Err("a resource must be a JSON object".into());
    };
    let id = match field(&fields, "id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        // Some targets number their ids; the engine keeps them as text.
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err("the resource has no \"id\"".into()),
    };
    Ok(TargetObject {
        id,
        resource: Value::Object(fields),
    })
}

/// The resource an answer carries (create, get).
pub fn parse_resource(req: &ScimRequest, answer: &Answer) -> Result<TargetObject, TargetError> {
    let body = json_body(req, answer)?;
    object_from(body).map_err(|detail| incompatible(req, answer, detail))
}

/// The resource a PATCH answered with, if any: 204, or 200 with an empty body, has none.
pub fn parse_optional_resource(
    req: &ScimRequest,
    answer: &Answer,
) -> Result<Option<TargetObject>, TargetError> {
    if answer.status == 204 || answer.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    parse_resource(req, answer).map(Some)
}

/// A ListResponse: `Resources` is required unless `totalResults` is 0 (RFC 7644 §3.4.2).
pub fn parse_list(req: &ScimRequest, answer: &Answer) -> Result<Page, TargetError> {
    let body = json_body(req, answer)?;
    let Value::Object(fields) = body else {
        return Err(incompatible(
            req,
            answer,
            "a ListResponse must be a JSON object",
        ));
    };
    let total = match field(&fields, "totalResults") {
        None => None,
        Some(Value::Number(n)) => n.as_u64(),
        // Some targets quote their numbers.
        Some(Value::String(s)) => s.trim().parse().ok(),
        Some(_) => None,
    };
    let resources = match field(&fields, "Resources") {
        Some(Value::Array(items)) => items.clone(),
        Some(Value::Null) | None if total == Some(0) => Vec::new(),
        Some(_) => {
            return Err(incompatible(
                req,
                answer,
                "the ListResponse's \"Resources\" is not a list",
            ))
        }
        None => {
            return Err(incompatible(
                req,
                answer,
                "the ListResponse has no \"Resources\"",
            ))
        }
    };
    let objects = resources
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            object_from(r)
                .map_err(|d| incompatible(req, answer, format!("resource {}: {d}", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let total = total.unwrap_or(objects.len() as u64);
    Ok(Page { objects, total })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn request_urls_keep_the_base_path_and_query() {
        let cases = [
            ("http://h/scim", None, "/Users", "http://h/scim/Users"),
            ("http://h", None, "/Users/1", "http://h/Users/1"),
            (
                "http://h/a/b",
                None,
                "/Users?count=1",
                "http://h/a/b/Users?count=1",
            ),
            (
                "http://h/scim",
                Some("api-version=2"),
                "/Users/1",
                "http://h/scim/Users/1?api-version=2",
            ),
            (
                "http://h/scim",
                Some("api-version=2"),
                "/Users?count=1",
                "http://h/scim/Users?api-version=2&count=1",
            ),
        ];
        for (base, query, target, url) in cases {
            assert_eq!(join_url(base, query, target), url);
        }
    }

    #[test]
    fn base_urls_are_checked_and_normalised() {
        let service = |url: &str| {
            ScimService::new(&ScimClientConfig::new(url, crate::BearerToken::default()))
                .map(|s| (s.base, s.base_query))
        };
        let ok =
            |base: &str, query: Option<&str>| Ok((base.to_string(), query.map(str::to_string)));
        assert_eq!(
            service("https://app.example/scim/v2/"),
            ok("https://app.example/scim/v2", None)
        );
        assert_eq!(
            service(" https://app.example "),
            ok("https://app.example", None)
        );
        assert_eq!(
            service("https://app.example/scim?api-version=2"),
            ok("https://app.example/scim", Some("api-version=2"))
        );
        for bad in [
            "app.example/scim",
            "ftp://app.example/scim",
            "https://app.example/#x",
            "",
        ] {
            assert!(
                matches!(service(bad), Err(ConfigError::BaseUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = datetime!(2026-12-03 18:00:00 UTC);
        let cases = [
            ("0", Some(0)),
            ("1", Some(1)),
            (" 120 ", Some(120)),
            ("Thu, 03 Dec 2026 18:00:30 GMT", Some(30)),
            ("Thu, 03 Dec 2026 17:59:00 GMT", Some(0)),
            ("-1", None),
            ("1.5", None),
            ("soon", None),
            ("2026-12-03T18:00:30Z", None),
        ];
        for (header, seconds) in cases {
            assert_eq!(
                parse_retry_after(header, now),
                seconds.map(Duration::from_secs),
                "{header}"
            );
        }
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec(),
            content_type: Some("application/scim+json".into()),
        }
    }

    #[test]
    fn list_responses_are_checked() {
        let req = crate::request::list_page(provisio_engine::target::TargetKind::User, 1, 10, &[]);
        // (body, total and ids, or the error's detail)
        type Expected = Result<(u64, Vec<&'static str>), &'static str>;
        let cases: [(&str, Expected); 8] = [
            (
                r#"{"totalResults": 3, "Resources": [{"id": "a"}, {"id": 7}]}"#,
                Ok((3, vec!["a", "7"])),
            ),
            (r#"{"totalResults": 0}"#, Ok((0, vec![]))),
            (r#"{"totalResults": "0", "Resources": []}"#, Ok((0, vec![]))),
            (r#"{"resources": [{"id": "a"}]}"#, Ok((1, vec!["a"]))),
            (
                r#"{"totalResults": 2}"#,
                Err("the ListResponse has no \"Resources\""),
            ),
            (
                r#"{"totalResults": 1, "Resources": {"id": "a"}}"#,
                Err("the ListResponse's \"Resources\" is not a list"),
            ),
            (
                r#"{"totalResults": 1, "Resources": [{"userName": "a"}]}"#,
                Err("resource 1: the resource has no \"id\""),
            ),
            (r#"[]"#, Err("a ListResponse must be a JSON object")),
        ];
        for (body, expected) in cases {
            let got = parse_list(&req, &answer(200, body));
            match (got, expected) {
                (Ok(page), Ok((total, ids))) => {
                    assert_eq!(page.total, total, "{body}");
                    let got: Vec<&str> = page.objects.iter().map(|o| o.id.as_str()).collect();
                    assert_eq!(got, ids, "{body}");
                }
                (Err(e), Err(detail)) => {
                    assert_eq!(e.class, ErrorClass::Incompatible, "{body}");
                    assert_eq!(e.detail.as_deref(), Some(detail), "{body}");
                }
                (got, expected) => panic!("{body}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn error_bodies_give_detail_and_scim_type() {
        let cases = [
            (
                r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}"#,
                (Some("userName taken"), Some("uniqueness")),
            ),
            (r#"{"Detail": "no"}"#, (Some("no"), None)),
            (
                "<html>Bad Gateway</html>",
                (Some("<html>Bad Gateway</html>"), None),
            ),
            ("", (None, None)),
        ];
        for (body, (detail, scim_type)) in cases {
            let (d, t) = error_detail(body.as_bytes());
            assert_eq!((d.as_deref(), t.as_deref()), (detail, scim_type), "{body}");
        }
    }
}
