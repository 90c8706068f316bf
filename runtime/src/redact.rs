//! Request tracing and redaction.
//!
//! [`TraceFilter`] picks the operations whose requests and responses are logged in full (at
//! `INFO`, target `squall::trace`), like Tempest's `trace_requests`. Whatever is traced goes
//! through [`redact_json`] and [`redact_header`] first: tokens, passwords, secrets and private
//! keys never reach the log, whatever the filter says.

use serde_json::Value;

/// The text that replaces a secret.
pub const REDACTED: &str = "***";

/// Operation names to trace: comma-separated patterns with `*` as a wildcard, matched against
/// `service.operation` (`compute.create_keypair`, `identity.create_token`). Empty traces
/// nothing; `*` traces everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TraceFilter {
    patterns: Vec<String>,
}

impl TraceFilter {
    /// Parses `compute.*,placement.list_*`.
    pub fn new(patterns: &str) -> Self {
        Self {
            patterns: patterns
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
        }
    }

    /// Whether nothing is traced.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `operation` is traced.
    pub fn matches(&self, operation: &str) -> bool {
        self.patterns.iter().any(|p| glob(p, operation))
    }
}

/// `*` matches any run of characters; everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return text.is_empty();
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether a JSON key names a secret: passwords, secrets, private keys, tokens and
/// credentials' blobs.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("password")
        || key.contains("secret")
        || key.contains("private_key")
        || key == "adminpass"
        || key == "token"
        || key == "auth_token"
        || key == "blob"
}

/// A copy of `value` with the values of secret keys replaced by `***`. A `token` object (the
/// token method of a Keystone request) keeps its shape but loses its `id`; a Keystone token
/// response keeps its catalog.
pub fn redact_json(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if !is_secret_key(k) {
                        redact_json(v)
                    } else if let Value::Object(inner) = v {
                        // {"token": {"id": ...}} in a request; {"token": {...catalog}} in a
                        // Keystone response: keep everything but ids and secrets.
                        Value::Object(
                            inner
                                .iter()
                                .map(|(ik, iv)| {
                                    if ik == "id" || is_secret_key(ik) {
                                        (ik.clone(), Value::String(REDACTED.into()))
                                    } else {
                                        (ik.clone(), redact_json(iv))
                                    }
                                })
                                .collect(),
                        )
                    } else {
                        Value::String(REDACTED.into())
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_json).collect()),
        other => other.clone(),
    }
}

/// A body for the trace log: redacted JSON, or a note for anything that is not JSON (which
/// could hold a secret we cannot find).
pub fn redact_body(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => redact_json(&value).to_string(),
        Err(_) => format!("<{} bytes, not JSON: not shown>", body.len()),
    }
}

/// Whether a header carries a credential.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "x-auth-token" | "x-subject-token" | "x-service-token" | "authorization" | "cookie"
    ) || name.contains("secret")
        || name.contains("password")
}

/// A header value for the trace log.
pub fn redact_header<'v>(name: &str, value: &'v str) -> &'v str {
    if is_secret_header(name) {
        REDACTED
    } else {
        value
    }
}

/// Headers as `name: value` pairs, redacted, for the trace log.
pub fn redact_headers(headers: &http::HeaderMap) -> String {
    headers
        .iter()
        .map(|(name, value)| {
            format!(
                "{name}: {}",
                redact_header(name.as_str(), value.to_str().unwrap_or("<binary>"))
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn filters_match_operation_names() {
        let f = TraceFilter::new("compute.*, placement.list_*");
        assert!(f.matches("compute.create_keypair"));
        assert!(f.matches("placement.list_traits"));
        assert!(!f.matches("placement.show_trait"));
        assert!(TraceFilter::new("*").matches("identity.create_token"));
        assert!(TraceFilter::new("").is_empty());
        assert!(TraceFilter::new("*keypair").matches("compute.delete_keypair"));
        assert!(!TraceFilter::new("*keypair").matches("compute.delete_keypairs"));
    }

    #[test]
    fn secrets_are_redacted() {
        let body = json!({"auth": {"identity": {"methods": ["password", "token"],
            "password": {"user": {"name": "admin", "password": "hunter2"}},
            "token": {"id": "gAAAA-token"},
            "application_credential": {"id": "ac", "secret": "s3cret"}}},
            "keypair": {"name": "k", "private_key": "-----BEGIN", "public_key": "ssh-rsa"},
            "server": {"adminPass": "x"}});
        let text = redact_json(&body).to_string();
        for secret in ["hunter2", "gAAAA-token", "s3cret", "-----BEGIN", "\"x\""] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("ssh-rsa") && text.contains("admin"));
        assert_eq!(redact_header("X-Auth-Token", "abc"), REDACTED);
        assert_eq!(
            redact_header("Accept", "application/json"),
            "application/json"
        );
        assert!(redact_body(b"password=x").contains("not shown"));
    }
}
