//! The retry policy, counted on the **fake** fault server of `squall_testing::fake` (a real
//! service does not reset or answer 503 on demand): how many requests the server saw for GET,
//! PUT, DELETE and POST under resets and 503s, `Retry-After` in both forms, the bound, and
//! Tempest's 413 retries.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use squall::clients::placement::{self, ResourceClassesClient, TraitsClient, resource_classes};
use squall::runtime::{
    ApiVersion, Error, HttpErrorKind, RestClient, RetryPolicy, ServiceClient, TransportFault,
    TransportSettings,
};
use squall_testing::fake::{Canned, FakeFaultServer, Fault};

fn policy() -> RetryPolicy {
    RetryPolicy::standard()
        .with_max_retries(3)
        .with_delays(Duration::from_millis(10), Duration::from_secs(3))
}

fn rest(policy: RetryPolicy) -> Arc<RestClient> {
    let settings = TransportSettings {
        read_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ..TransportSettings::default()
    };
    Arc::new(
        RestClient::with_settings(settings)
            .unwrap()
            .with_retry(policy),
    )
}

fn service(server: &FakeFaultServer, policy: RetryPolicy) -> ServiceClient {
    ServiceClient::new(rest(policy), &server.url(""), &placement::SERVICE)
        .with_microversion(ApiVersion::at(1, 6))
}

fn ok(status: u16, body: &str) -> Fault {
    let canned = Canned::new(status)
        .header("OpenStack-API-Version", "placement 1.6")
        .header("Content-Type", "application/json")
        .body(body);
    Fault::Respond(canned)
}

fn unavailable() -> Fault {
    Fault::Respond(
        Canned::new(503)
            .header("Content-Type", "application/json")
            .body(r#"{"errors": [{"status": 503, "detail": "busy", "title": "Unavailable"}]}"#),
    )
}

/// Calls the operation for `method` once (it retries inside per the policy).
async fn call(method: &str, service: ServiceClient) -> Result<(), Error> {
    match method {
        "GET" => TraitsClient::new(service).list_traits(None).await.map(drop),
        "PUT" => TraitsClient::new(service)
            .create_trait("CUSTOM_FAULT")
            .await
            .map(drop),
        "DELETE" => TraitsClient::new(service)
            .delete_trait("CUSTOM_FAULT")
            .await
            .map(drop),
        "POST" => {
            let body: placement::types::ResourceClassRequestV1_2 =
                squall::runtime::decode::from_value(&json!({"name": "CUSTOM_FAULT"})).unwrap();
            let body: resource_classes::CreateResourceClassRequest = body.into();
            ResourceClassesClient::new(service)
                .create_resource_class(&body)
                .await
                .map(drop)
        }
        other => panic!("no operation for {other}"),
    }
}

/// The success each method's operation answers.
fn success(method: &str) -> Fault {
    match method {
        "GET" => ok(200, r#"{"traits": ["CUSTOM_FAULT"]}"#),
        "PUT" => ok(201, ""),
        "DELETE" => ok(204, ""),
        _ => ok(201, ""),
    }
}

#[tokio::test]
async fn idempotent_methods_are_retried_after_resets() {
    for method in ["GET", "PUT", "DELETE"] {
        let server = FakeFaultServer::start(vec![
            Fault::ResetBeforeResponse,
            Fault::CloseBeforeResponse,
            success(method),
        ])
        .await
        .unwrap();
        call(method, service(&server, policy()))
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(
            server.count(method),
            3,
            "{method}: two failures, one success"
        );
    }
}

#[tokio::test]
async fn idempotent_methods_are_retried_after_503() {
    for method in ["GET", "PUT", "DELETE"] {
        let server = FakeFaultServer::start(vec![unavailable(), unavailable(), success(method)])
            .await
            .unwrap();
        call(method, service(&server, policy()))
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert_eq!(server.count(method), 3, "{method}");
    }
}

#[tokio::test]
async fn a_post_that_may_have_reached_the_server_is_never_retried() {
    for first in [
        Fault::ResetBeforeResponse,
        Fault::CloseBeforeResponse,
        unavailable(),
    ] {
        let label = format!("{first:?}");
        let server = FakeFaultServer::start(vec![first, success("POST")])
            .await
            .unwrap();
        let err = call("POST", service(&server, policy()))
            .await
            .expect_err(&label);
        assert_eq!(server.count("POST"), 1, "{label}: {err}");
    }
}

#[tokio::test]
async fn retries_are_bounded() {
    for method in ["GET", "PUT", "DELETE"] {
        let server = FakeFaultServer::always(unavailable()).await.unwrap();
        let err = call(method, service(&server, policy())).await.unwrap_err();
        assert_eq!(err.context().unwrap().status, Some(503), "{err}");
        assert_eq!(
            server.count(method),
            4,
            "{method}: first try and three retries"
        );

        let server = FakeFaultServer::always(Fault::ResetBeforeResponse)
            .await
            .unwrap();
        let err = call(method, service(&server, policy())).await.unwrap_err();
        assert!(
            matches!(err.transport_fault(), Some(TransportFault::Reset { .. })),
            "{err}"
        );
        assert_eq!(server.count(method), 4, "{method}");
    }
}

#[tokio::test]
async fn no_retries_by_default() {
    let server = FakeFaultServer::start(vec![unavailable(), success("GET")])
        .await
        .unwrap();
    let err = call("GET", service(&server, RetryPolicy::default()))
        .await
        .unwrap_err();
    assert_eq!(err.context().unwrap().status, Some(503));
    assert_eq!(server.count("GET"), 1);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let busy = Canned::new(503).header("Retry-After", "1");
    let server = FakeFaultServer::start(vec![Fault::Respond(busy), success("GET")])
        .await
        .unwrap();
    let started = Instant::now();
    call("GET", service(&server, policy())).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.count("GET"), 2);
}

#[tokio::test]
async fn retry_after_as_a_date_is_honoured() {
    let busy = Canned::new(503)
        .header("Date", "Mon, 4 Apr 2016 21:58:26 GMT")
        .header("Retry-After", "Mon, 4 Apr 2016 21:58:28 GMT");
    let server = FakeFaultServer::start(vec![Fault::Respond(busy), success("PUT")])
        .await
        .unwrap();
    let started = Instant::now();
    call("PUT", service(&server, policy())).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(server.count("PUT"), 2);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_longest_wait_ends_the_retries() {
    let busy = Canned::new(503).header("Retry-After", "3600");
    let server = FakeFaultServer::start(vec![Fault::Respond(busy), success("GET")])
        .await
        .unwrap();
    let err = call("GET", service(&server, policy())).await.unwrap_err();
    assert_eq!(err.context().unwrap().status, Some(503));
    assert_eq!(server.count("GET"), 1);
}

fn rate_limited(retry_after: &str, message: &str) -> Fault {
    Fault::Respond(
        Canned::new(413)
            .header("Content-Type", "application/json")
            .header("Retry-After", retry_after)
            .body(json!({"overLimit": {"code": 413, "message": message}}).to_string()),
    )
}

#[tokio::test]
async fn tempest_413_rate_limit_retries_twice_without_a_policy() {
    let server = FakeFaultServer::always(rate_limited("1", "slow down"))
        .await
        .unwrap();
    let err = call("POST", service(&server, RetryPolicy::none()))
        .await
        .unwrap_err();
    assert_eq!(
        err.http_kind(),
        Some(HttpErrorKind::RateLimitExceeded),
        "{err}"
    );
    assert_eq!(
        server.count("POST"),
        3,
        "Tempest retries a rate limit twice"
    );
}

#[tokio::test]
async fn tempest_413_with_exceed_is_an_absolute_limit() {
    let server = FakeFaultServer::always(rate_limited("1", "Quota exceeded"))
        .await
        .unwrap();
    let err = call("GET", service(&server, policy())).await.unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::OverLimit), "{err}");
    assert_eq!(server.count("GET"), 1);
}

#[tokio::test]
async fn tempest_413_is_rate_limited_even_when_retry_after_does_not_parse() {
    let server = FakeFaultServer::always(rate_limited("whenever", "slow down"))
        .await
        .unwrap();
    let err = call("GET", service(&server, policy())).await.unwrap_err();
    let Error::Http {
        kind, retry_after, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*kind, HttpErrorKind::RateLimitExceeded);
    assert_eq!(*retry_after, None, "no delay to wait for");
    assert_eq!(server.count("GET"), 1, "nothing to wait: not retried");
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn retries_are_visible_in_tracing() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // tracing caches each callsite's interest process-wide, and while only one dispatcher is
    // registered it asks the registering thread's default: a sibling test without a
    // subscriber reaching the retry callsite first would cache "never" and blind this one.
    // A global registry, installed once, makes every thread's answer "always".
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
    });
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = FakeFaultServer::start(vec![unavailable(), success("GET")])
        .await
        .unwrap();
    call("GET", service(&server, policy())).await.unwrap();
    let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
    let retry = text
        .lines()
        .find(|l| l.contains("retrying"))
        .unwrap_or_else(|| panic!("no retry logged:\n{text}"));
    assert!(retry.contains("placement.list_traits"), "{retry}");
    assert!(retry.contains("attempt=1"), "{retry}");
    assert!(retry.contains("503"), "{retry}");
}
