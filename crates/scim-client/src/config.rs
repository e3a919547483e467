//! What a job says about its target: where it is, how to authenticate, how patient and how
//! parallel to be, and which PATCH dialect it speaks.

use std::fmt;
use std::time::Duration;

/// The media type of SCIM bodies (RFC 7644 §3.1); Entra sends it on every request with a body.
pub const SCIM_MEDIA_TYPE: &str = "application/scim+json";

/// A bearer token. Its `Debug` does not show it, so a logged configuration leaks nothing.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        BearerToken(token.into())
    }

    /// The secret itself, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("BearerToken(<none>)")
        } else {
            f.write_str("BearerToken(<redacted>)")
        }
    }
}

/// How a job writes PATCH requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatchStyle {
    /// RFC 7644 §3.5.2, as Entra writes it with `aadOptscim062020`: lowercase `op`, JSON
    /// booleans, a member removed with `path: members[value eq "<id>"]` and no value.
    #[default]
    Rfc7644,
    /// Entra's default dialect: capitalised `op` (`Add`, `Replace`, `Remove`), booleans as the
    /// strings `"True"`/`"False"`, members added and removed as a value list whose items carry
    /// `"$ref": null`.
    EntraLegacy,
}

/// The query flag of an Entra tenant URL that turns on RFC 7644 PATCH (reference §3.3).
pub const SCIM_COMPLIANT_PATCH_FLAG: &str = "aadOptscim062020";

/// The flag an older version of Microsoft's page gives for the same (kept: tenant URLs
/// written then still carry it).
pub const SCIM_COMPLIANT_PATCH_FLAG_2020: &str = "AzureAdScimPatch062020";

/// The flag that rolls a job back to Entra's legacy PATCH (`Replace`, `"False"`, member
/// removal by value list): "Downgrade URL: … AzureAdScimPatch2017", in MicrosoftDocs/entra-docs
/// `docs/identity/app-provisioning/application-provisioning-config-problem-scim-compatibility.md`.
pub const LEGACY_PATCH_FLAG: &str = "AzureAdScimPatch2017";

/// The PATCH style a tenant URL's query parameter asks for, if it is one of the flags.
fn flag_style(name: &str) -> Option<PatchStyle> {
    if name.eq_ignore_ascii_case(SCIM_COMPLIANT_PATCH_FLAG)
        || name.eq_ignore_ascii_case(SCIM_COMPLIANT_PATCH_FLAG_2020)
    {
        Some(PatchStyle::Rfc7644)
    } else if name.eq_ignore_ascii_case(LEGACY_PATCH_FLAG) {
        Some(PatchStyle::EntraLegacy)
    } else {
        None
    }
}

/// A tenant URL as an admin enters it in Entra, split into the base URL to call and the
/// PATCH style its flag asks for: `https://app/scim?aadOptscim062020` gives
/// `https://app/scim` and `Some(Rfc7644)`, `…?AzureAdScimPatch2017` `Some(EntraLegacy)`.
/// Flags are for the provisioning service, not the target, so they are not sent; other
/// query parameters stay. `None`: the URL does not say (provisio then writes RFC 7644,
/// the behaviour Microsoft announces as the coming default). The last flag wins.
pub fn split_tenant_url(url: &str) -> (String, Option<PatchStyle>) {
    let url = url.trim();
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_string(), None);
    };
    let (query, fragment) = match query.split_once('#') {
        Some((query, fragment)) => (query, Some(fragment)),
        None => (query, None),
    };
    let mut style = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|param| {
            let name = param.split_once('=').map_or(*param, |(name, _)| name);
            let flag = flag_style(name);
            if flag.is_some() {
                style = flag;
            }
            flag.is_none() && !param.is_empty()
        })
        .collect();
    let mut out = base.to_string();
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept.join("&"));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    (out, style)
}

/// When and how often a request is sent again.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Sends after the first; 0 never retries.
    pub max_retries: u32,
    /// The longest `Retry-After` waited for. A target asking for more is not waited on: the
    /// request fails at once as transient, carrying the wait, so the job can set it aside
    /// instead of holding a worker.
    pub max_retry_after: Duration,
    /// The wait before the first retry when the target names none; doubled at each retry.
    pub initial_backoff: Duration,
    /// The longest wait between retries when the target names none.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            max_retry_after: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based) when the target named none.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// One target's client settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimClientConfig {
    /// The SCIM base URL, under which `/Users` and `/Groups` are (any path prefix, with or
    /// without a trailing slash): `https://app.example/scim/v2`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer`; an empty token sends no `Authorization` header.
    pub token: BearerToken,
    pub connect_timeout: Duration,
    /// The whole request, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    /// Most requests in flight at once for this target (for one job).
    pub max_concurrency: usize,
    pub retry: RetryPolicy,
    pub patch_style: PatchStyle,
    /// Largest answer read; a bigger one is not SCIM this client can use.
    pub max_response_bytes: usize,
}

/// Most requests in flight at once to one target for one job, by default: what the target
/// sees of a job, whatever the engine does between requests.
pub const DEFAULT_MAX_CONCURRENCY: usize = 8;

impl ScimClientConfig {
    pub fn new(base_url: impl Into<String>, token: BearerToken) -> Self {
        ScimClientConfig {
            base_url: base_url.into(),
            token,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            retry: RetryPolicy::default(),
            patch_style: PatchStyle::default(),
            max_response_bytes: 32 * 1024 * 1024,
        }
    }
}

/// A configuration the client cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the SCIM base URL {url:?} is not valid: {reason}")]
    BaseUrl { url: String, reason: String },
    #[error("the bearer token cannot be sent in an HTTP header (it has control characters)")]
    Token,
    #[error("max_concurrency must be at least 1")]
    Concurrency,
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_shows_in_debug() {
        let config =
            ScimClientConfig::new("https://app.example/scim", BearerToken::new("s3cr3t-t0ken"));
        let printed = format!("{config:?}");
        assert!(!printed.contains("s3cr3t"), "{printed}");
        assert!(printed.contains("BearerToken(<redacted>)"), "{printed}");
        assert_eq!(
            format!("{:?}", BearerToken::default()),
            "BearerToken(<none>)"
        );
    }

    #[test]
    fn tenant_urls_give_the_base_url_and_the_patch_style() {
        let rfc = Some(PatchStyle::Rfc7644);
        let cases = [
            ("https://app/scim", "https://app/scim", None),
            ("https://app/scim?aadOptscim062020", "https://app/scim", rfc),
            (
                "https://app/scim/?AADOPTSCIM062020=",
                "https://app/scim/",
                rfc,
            ),
            (
                "https://app/scim?api-version=2&aadOptscim062020",
                "https://app/scim?api-version=2",
                rfc,
            ),
            (
                "https://app/scim?aadOptscim062020&api-version=2",
                "https://app/scim?api-version=2",
                rfc,
            ),
            (
                "https://app/scim?api-version=2",
                "https://app/scim?api-version=2",
                None,
            ),
            ("https://app/scim?", "https://app/scim", None),
            (
                "https://app/scim?AzureAdScimPatch2017",
                "https://app/scim",
                Some(PatchStyle::EntraLegacy),
            ),
            (
                "https://app/scim?azureadscimpatch2017&api-version=2",
                "https://app/scim?api-version=2",
                Some(PatchStyle::EntraLegacy),
            ),
            (
                "https://app/scim?AzureAdScimPatch062020",
                "https://app/scim",
                rfc,
            ),
        ];
        for (url, base, style) in cases {
            assert_eq!(split_tenant_url(url), (base.to_string(), style), "{url}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(3),
            ..RetryPolicy::default()
        };
        let waits: Vec<u128> = (1..=5).map(|r| policy.backoff(r).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 3000, 3000]);
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(3));
    }
}
