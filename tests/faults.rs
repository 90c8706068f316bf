//! Transport faults, each against the **fake** fault server of `squall_testing::fake` (a real
//! service does not reset, stall or trickle on demand), and TLS failures against the TLS proxy
//! of the local cloud (`scripts/squall_services/tls_proxy.py`).
//!
//! Each test asserts the error's kind, that it names the operation and the requested version,
//! what had arrived, and that the call returned within its timeout plus a margin.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use squall::clients::compute::{self, KeypairsClient, keypairs};
use squall::runtime::{
    ApiVersion, Error, ProtocolFault, RestClient, ServiceClient, TlsFault, TransportFault,
    TransportPhase, TransportSettings,
};
use squall_testing::fake::{Canned, FakeFaultServer, Fault, Unaccepting, refused_url};

/// Counts the bytes allocated now and at peak, so the oversized-body test can show the body
/// was never buffered.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = CURRENT.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                CURRENT.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Slack on top of a configured timeout before a call counts as hanging.
const MARGIN: Duration = Duration::from_secs(3);

fn settings() -> TransportSettings {
    TransportSettings {
        connect_timeout: Duration::from_millis(800),
        read_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(5),
        max_body_bytes: 1024 * 1024,
        max_redirects: 3,
    }
}

fn client(url: &str, settings: TransportSettings) -> KeypairsClient {
    let rest = Arc::new(RestClient::with_settings(settings).unwrap());
    KeypairsClient::new(
        ServiceClient::new(rest, url, &compute::SERVICE).with_microversion(ApiVersion::at(2, 2)),
    )
}

fn good_list() -> Vec<u8> {
    json!({"keypairs": [{"keypair": {"fingerprint": "f", "name": "k", "public_key": "ssh-rsa AAA",
                                      "type": "ssh"}}]})
    .to_string()
    .into_bytes()
}

/// Lists keypairs at 2.2 and returns the error and how long the call took.
async fn list_fails(url: &str, settings: TransportSettings) -> (Error, Duration) {
    let started = Instant::now();
    let result = client(url, settings).list_keypairs(None).await;
    let elapsed = started.elapsed();
    match result {
        Ok(ok) => panic!("expected a failure, got {:?}", ok.status),
        Err(e) => (e, elapsed),
    }
}

/// The fault, checking that the error names the operation and the requested version.
fn transport_fault(err: &Error) -> &TransportFault {
    let Error::Transport { fault, context, .. } = err else {
        panic!("expected a transport error: {err}")
    };
    assert_eq!(context.operation, "compute.list_keypairs", "{err}");
    assert_eq!(context.requested, ApiVersion::at(2, 2), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("compute.list_keypairs") && text.contains("2.2"),
        "{text}"
    );
    fault
}

#[tokio::test]
async fn connection_refused() {
    let url = refused_url("/v2.1").unwrap();
    let (err, elapsed) = list_fails(&url, settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::ConnectionRefused,
        "{err}"
    );
    assert_eq!(err.context().unwrap().status, None, "nothing was received");
    assert!(elapsed < settings().connect_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn reset_before_the_response() {
    let server = FakeFaultServer::always(Fault::ResetBeforeResponse)
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::Reset {
            phase: TransportPhase::Response
        },
        "{err}"
    );
    assert_eq!(err.context().unwrap().status, None);
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
    assert_eq!(server.count("GET"), 1, "no retry by default");
}

#[tokio::test]
async fn closed_before_the_response() {
    let server = FakeFaultServer::always(Fault::CloseBeforeResponse)
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::Closed {
            phase: TransportPhase::Response
        },
        "{err}"
    );
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn reset_mid_body() {
    let canned = Canned::compute_json(200, "2.2", good_list());
    let server = FakeFaultServer::always(Fault::ResetMidBody { canned, after: 20 })
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::Reset {
            phase: TransportPhase::Body
        },
        "{err}"
    );
    let context = err.context().unwrap();
    assert_eq!(context.status, Some(200), "the head had arrived");
    assert!(
        context.body().len() <= 20,
        "at most the bytes sent: {:?}",
        context.body_text()
    );
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn connect_timeout() {
    let blackhole = Unaccepting::start().await.unwrap();
    let (err, elapsed) = list_fails(&blackhole.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::ConnectTimeout {
            limit: settings().connect_timeout
        },
        "{err}"
    );
    assert!(
        elapsed >= settings().connect_timeout,
        "it waited for the connection: {elapsed:?}"
    );
    assert!(elapsed < settings().connect_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn read_timeout_when_the_server_never_answers() {
    let server = FakeFaultServer::always(Fault::Silent).await.unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    let fault = transport_fault(&err);
    assert!(
        matches!(
            fault,
            TransportFault::Timeout {
                phase: TransportPhase::Response,
                ..
            }
        ),
        "{err}"
    );
    assert!(elapsed >= settings().read_timeout, "{elapsed:?}");
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn truncated_body_shorter_than_its_content_length() {
    let body = good_list();
    let expected = body.len() as u64;
    let canned = Canned::compute_json(200, "2.2", body);
    let server = FakeFaultServer::always(Fault::Truncate { canned, after: 10 })
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::TruncatedBody {
            expected,
            received: 10
        },
        "{err}"
    );
    let context = err.context().unwrap();
    assert_eq!(context.status, Some(200));
    assert_eq!(context.body().len(), 10, "the bytes that arrived are kept");
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn a_trickling_body_stops_at_the_whole_call_timeout() {
    // One byte every 100 ms beats the 2 s read timeout, but not the 3 s call timeout.
    let canned = Canned::compute_json(200, "2.2", good_list());
    let server = FakeFaultServer::always(Fault::Trickle {
        canned,
        every: Duration::from_millis(100),
    })
    .await
    .unwrap();
    let settings = TransportSettings {
        read_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(3),
        ..settings()
    };
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings).await;
    assert!(
        matches!(
            transport_fault(&err),
            TransportFault::Timeout {
                phase: TransportPhase::Body,
                ..
            }
        ),
        "{err}"
    );
    let context = err.context().unwrap();
    assert_eq!(context.status, Some(200));
    assert!(!context.body().is_empty(), "some bytes had trickled in");
    assert!(elapsed >= settings.timeout, "{elapsed:?}");
    assert!(elapsed < settings.timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn a_declared_oversized_body_is_refused_before_reading() {
    let canned = Canned::compute_json(200, "2.2", Vec::new());
    let server = FakeFaultServer::always(Fault::Endless {
        canned,
        declared: Some(1 << 30),
        cap: 1 << 30,
    })
    .await
    .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::BodyTooLarge {
            limit: settings().max_body_bytes,
            declared: Some(1 << 30),
            received: 0
        },
        "{err}"
    );
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn an_endless_chunked_body_is_cut_at_the_limit_without_buffering() {
    // 512 MiB offered without a Content-Length; the limit is 1 MiB.
    let canned = Canned::compute_json(200, "2.2", Vec::new());
    let server = FakeFaultServer::always(Fault::Endless {
        canned,
        declared: None,
        cap: 512 << 20,
    })
    .await
    .unwrap();
    let baseline = CURRENT.load(Ordering::Relaxed);
    PEAK.store(baseline, Ordering::Relaxed);
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    let grown = PEAK.load(Ordering::Relaxed).saturating_sub(baseline);
    let limit = settings().max_body_bytes;
    let TransportFault::BodyTooLarge {
        limit: reported,
        declared: None,
        received,
    } = transport_fault(&err).clone()
    else {
        panic!("{err}")
    };
    assert_eq!(reported, limit);
    assert!(
        received > limit && received < limit + (1 << 20),
        "{received}"
    );
    // The body is bounded by the limit; other tests in this binary run alongside, so the bound
    // is generous, but far below what buffering the offered 512 MiB would take.
    assert!(
        grown < 16 << 20,
        "peak memory grew by {grown} bytes during the call"
    );
    assert!(elapsed < settings().timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn an_invalid_utf8_body_is_a_protocol_fault() {
    let prefix = br#"{"keypairs": [{"keypair": {"name": ""#;
    let mut body = prefix.to_vec();
    body.extend_from_slice(&[0xff, 0xfe]);
    body.extend_from_slice(br#""}}]}"#);
    let server = FakeFaultServer::always(Fault::Respond(Canned::compute_json(200, "2.2", body)))
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        err.protocol_fault(),
        Some(&ProtocolFault::InvalidUtf8 {
            valid_up_to: prefix.len()
        }),
        "{err}"
    );
    let context = err.context().unwrap();
    assert_eq!(context.operation, "compute.list_keypairs");
    assert_eq!(context.version(), "2.2");
    assert_eq!(
        context.body().len(),
        prefix.len() + 7,
        "the raw body is kept"
    );
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn an_unexpected_content_type_on_success_is_a_protocol_fault() {
    let canned = Canned::new(200)
        .header("Content-Type", "text/html; charset=utf-8")
        .header("OpenStack-API-Version", "compute 2.2")
        .body("<html>login portal</html>");
    let server = FakeFaultServer::always(Fault::Respond(canned))
        .await
        .unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        err.protocol_fault(),
        Some(&ProtocolFault::UnexpectedContentType {
            content_type: "text/html; charset=utf-8".to_owned()
        }),
        "{err}"
    );
    assert_eq!(
        err.context().unwrap().body_text(),
        "<html>login portal</html>"
    );
    assert!(elapsed < settings().read_timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn a_redirect_loop_stops_at_the_limit() {
    let server = FakeFaultServer::always(Fault::RedirectLoop).await.unwrap();
    let (err, elapsed) = list_fails(&server.url("/v2.1"), settings()).await;
    assert_eq!(
        transport_fault(&err),
        &TransportFault::TooManyRedirects { limit: 3 },
        "{err}"
    );
    assert_eq!(
        server.count("GET"),
        4,
        "the first request and three redirects"
    );
    assert!(elapsed < settings().timeout + MARGIN, "{elapsed:?}");
}

#[tokio::test]
async fn a_valid_body_still_decodes_within_the_limits() {
    let server = FakeFaultServer::always(Fault::Respond(Canned::compute_json(
        200,
        "2.2",
        good_list(),
    )))
    .await
    .unwrap();
    let ok = client(&server.url("/v2.1"), settings())
        .list_keypairs(None)
        .await
        .unwrap();
    let keypairs::ListKeypairsResponse::V2_2(list) = ok.body else {
        panic!("{:?}", ok.body)
    };
    assert_eq!(list.keypairs[0].keypair.name, "k");
}

// --- TLS, against the local cloud's TLS proxy ---------------------------------------------

fn cloud_value() -> serde_json::Value {
    let path = common::cloud_json_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; start the services (scripts/services.py up)",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn tls_client(
    url: &str,
    ca: Option<&[u8]>,
    resolve: Option<(&str, std::net::SocketAddr)>,
) -> KeypairsClient {
    let settings = settings();
    let mut http = settings.http_builder().tls_built_in_root_certs(false);
    if let Some(pem) = ca {
        http = http.add_root_certificate(reqwest::Certificate::from_pem(pem).unwrap());
    }
    if let Some((name, addr)) = resolve {
        http = http.resolve(name, addr);
    }
    let rest = RestClient::with_http(http.build().unwrap()).with_transport_settings(settings);
    KeypairsClient::new(
        ServiceClient::new(Arc::new(rest), url, &compute::SERVICE)
            .with_microversion(ApiVersion::at(2, 2)),
    )
}

async fn tls_fault(client: KeypairsClient) -> TlsFault {
    let started = Instant::now();
    let err = client.list_keypairs(None).await.unwrap_err();
    let elapsed = started.elapsed();
    let TransportFault::Tls(fault) = transport_fault(&err).clone() else {
        panic!("expected a TLS fault: {err}")
    };
    assert!(elapsed < settings().connect_timeout + MARGIN, "{elapsed:?}");
    fault
}

#[tokio::test]
#[ignore = "live: needs the TLS proxy (scripts/services.py up)"]
async fn tls_certificate_from_an_unknown_ca() {
    let cloud = cloud_value();
    let url = cloud["tls"]["url"].as_str().unwrap();
    // Trusts nothing: not the proxy's CA, not the system's.
    let fault = tls_fault(tls_client(url, None, None)).await;
    assert_eq!(fault, TlsFault::UnknownIssuer);
}

#[tokio::test]
#[ignore = "live: needs the TLS proxy (scripts/services.py up)"]
async fn tls_certificate_for_another_host_name() {
    let cloud = cloud_value();
    let url = cloud["tls"]["url"].as_str().unwrap();
    let ca = std::fs::read(cloud["tls"]["ca"].as_str().unwrap()).unwrap();
    let port = url.rsplit(':').next().unwrap().trim_end_matches('/');
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The proxy's certificate names 127.0.0.1 and localhost only; reach it under another
    // name (resolved to 127.0.0.1, nothing leaves the machine).
    let other = format!("https://squall-wrong-name.test:{port}");
    let fault = tls_fault(tls_client(
        &other,
        Some(&ca),
        Some(("squall-wrong-name.test", addr)),
    ))
    .await;
    assert_eq!(fault, TlsFault::WrongHostName);
}

/// Our own instance of the TLS proxy, with an expired server certificate; killed when dropped.
struct ExpiredProxy {
    child: std::process::Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl Drop for ExpiredProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn expired_proxy() -> ExpiredProxy {
    let python = common::cloud_json_path()
        .parent()
        .unwrap()
        .join("venv/bin/python");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts/squall_services/tls_proxy.py");
    let folder = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(&python)
        .arg(&script)
        .arg(port.to_string())
        .args(["127.0.0.1", "9"])
        .arg(folder.path())
        .arg("expired")
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", python.display()));
    let proxy = ExpiredProxy {
        child,
        port,
        folder,
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "the TLS proxy did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    proxy
}

#[tokio::test]
#[ignore = "live: needs the TLS proxy (scripts/services.py up)"]
async fn tls_certificate_expired() {
    let proxy = expired_proxy().await;
    let ca = std::fs::read(proxy.folder.path().join("ca.pem")).unwrap();
    let url = format!("https://127.0.0.1:{}/v2.1", proxy.port);
    let fault = tls_fault(tls_client(&url, Some(&ca), None)).await;
    assert_eq!(fault, TlsFault::Expired);
}
