//! `cargo bench`: generation figures, validated-decode throughput and client overhead, printed
//! as tables.
//!
//! Figures are ratios against baselines measured in the same run: decoding is compared with
//! Tempest's Python path (`benches/tempest_path.py`, run with the services' virtualenv) and
//! serde_json's untyped parse of the same body; a generated client's requests per second with
//! raw reqwest's against the same in-process loopback server, beside a bound: the call plus
//! the least a typed decode of that body can do (serde-derived structs, no value checked).

use std::convert::Infallible;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use squall::clients::compute::flavors::{LIST_FLAVORS_DETAIL, ListFlavorsDetailResponse};
use squall::clients::compute::{self, KeypairsClient, schemas};
use squall::runtime::{
    ApiVersion, Decoder, Node, RawResponse, Request, RestClient, Secret, ServiceClient, Validation,
    VersionedResponse,
};

/// Median time of `runs` calls of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A `GET /flavors/detail` body at 2.75 with `n` flavors.
fn flavor_detail_body(n: usize) -> Vec<u8> {
    let flavors: Vec<Value> = (0..n)
        .map(|i| {
            let id = format!("{i:08}-aaaa-bbbb-cccc-{i:012}");
            json!({
                "id": id, "name": format!("flavor-{i}"), "ram": 512 * (i % 16 + 1), "disk": i % 100,
                "vcpus": i % 8 + 1, "swap": 0, "rxtx_factor": 1.0, "description": null,
                "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": false,
                "os-flavor-access:is_public": true,
                "extra_specs": {"hw:cpu_policy": "dedicated", "hw:mem_page_size": "large"},
                "links": [
                    {"rel": "self", "href": format!("http://127.0.0.1:15002/v2.1/flavors/{id}")},
                    {"rel": "bookmark", "href": format!("http://127.0.0.1:15002/flavors/{id}")}
                ]
            })
        })
        .collect();
    serde_json::to_vec(&json!({"flavors": flavors})).unwrap()
}

fn decode(body: &[u8], mode: Validation) -> ListFlavorsDetailResponse {
    let version = "2.75".parse().unwrap();
    RawResponse::from_body(&LIST_FLAVORS_DETAIL, version, body.to_vec().into(), mode)
        .and_then(RawResponse::versioned::<ListFlavorsDetailResponse>)
        .map(|r| r.body)
        .unwrap_or_else(|e| panic!("the benchmark body must be valid: {e:?}"))
}

/// The typed, checked decode (what `Validation::Strict` does) over an already parsed tree.
fn decode_node<'v>(node: &'v Node, mut d: Decoder<'v>) -> ListFlavorsDetailResponse {
    let index = LIST_FLAVORS_DETAIL
        .variant_for("2.75".parse().unwrap())
        .and_then(|v| LIST_FLAVORS_DETAIL.variants.get(v))
        .map_or(0, |v| v.index);
    ListFlavorsDetailResponse::decode_variant(index, &mut d, node)
        .unwrap_or_else(|| panic!("the benchmark body must be valid: {:?}", d.into_failure()))
}

/// The Python of the services' virtualenv: `SQUALL_PYTHON`, else the venv beside
/// `SQUALL_CLOUD_JSON`, else `target/squall-services/venv`.
fn services_python(root: &Path) -> Option<PathBuf> {
    if let Ok(python) = std::env::var("SQUALL_PYTHON") {
        return Some(PathBuf::from(python));
    }
    let beside_cloud = std::env::var("SQUALL_CLOUD_JSON")
        .ok()
        .and_then(|c| Path::new(&c).parent().map(|d| d.join("venv/bin/python")));
    beside_cloud
        .into_iter()
        .chain([root.join("target/squall-services/venv/bin/python")])
        .find(|p| p.exists())
}

/// Tempest's path on `body`, median of `runs`, through `benches/tempest_path.py`.
fn tempest_path(root: &Path, body: &[u8], runs: usize) -> Result<Duration, String> {
    let python = services_python(root).ok_or("no services virtualenv (set SQUALL_PYTHON)")?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (schema_path, body_path) = (dir.path().join("schema.json"), dir.path().join("body.json"));
    std::fs::write(&schema_path, schemas::LIST_FLAVORS_DETAIL_V2_75.json)
        .map_err(|e| e.to_string())?;
    std::fs::write(&body_path, body).map_err(|e| e.to_string())?;
    let out = Command::new(&python)
        .arg(root.join("benches/tempest_path.py"))
        .args([&schema_path, &body_path])
        .arg(runs.to_string())
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let seconds: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("tempest_path.py printed no time: {e}"))?;
    Ok(Duration::from_secs_f64(seconds))
}

/// The bench's sections, each run unless the command line names some (`cargo bench --bench
/// squall -- client`): a name that is not one of these is refused.
const SECTIONS: [&str; 3] = ["generation", "decoding", "client"];

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let named: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if let Some(unknown) = named.iter().find(|n| !SECTIONS.contains(&n.as_str())) {
        eprintln!("no bench section {unknown:?}; the sections are {SECTIONS:?}");
        std::process::exit(2);
    }
    let wanted = |section: &str| named.is_empty() || named.iter().any(|n| n == section);
    if wanted("generation") {
        generation(&root);
    }
    if wanted("decoding") {
        decoding(&root);
    }
    if wanted("client") {
        client_overhead();
    }
}

fn generation(root: &Path) {
    let specs = root.join("specs");

    // Generation.
    let generator = squall_gen::Generator::new(&specs);
    let generated = generator.render().expect("specs generate");
    let generation = median(5, || {
        black_box(generator.render().unwrap());
    });
    println!("== generation (median of 5) ==");
    println!("{generated}");
    println!("full generation time: {generation:.1?}");
    println!();
    println!(
        "{:<12} {:>15} {:>22} {:>8}",
        "service", "distinct types", "operation×version pairs", "ratio"
    );
    for s in &generated.services {
        println!(
            "{:<12} {:>15} {:>22} {:>8.3}",
            s.name,
            s.types,
            s.operation_versions,
            s.types as f64 / s.operation_versions as f64
        );
    }
}

/// A named benchmark candidate: one run of the path it measures.
type Candidate<'a> = (&'static str, Box<dyn FnMut() + 'a>);

fn decoding(root: &Path) {
    let body = flavor_detail_body(1000);
    let mb = body.len() as f64 / 1e6;
    for mode in [
        Validation::Strict,
        Validation::CrossCheck,
        Validation::TypedOnly,
    ] {
        assert!(matches!(
            decode(&body, mode),
            ListFlavorsDetailResponse::V2_75(_)
        ));
    }
    let least: least::Flavors = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        least.flavors.len(),
        1000,
        "the serde-derived types read the body"
    );
    // The machine is shared: every candidate runs once per round, in turn, so load changes
    // hit them all alike; each figure is the median over the rounds. Tempest's Python path
    // runs in batches between rounds.
    let runs = 30;
    let parsed = Node::parse(&body).unwrap();
    let decoded = decode_node(&parsed, Decoder::new());
    let mut candidates: Vec<Candidate<'_>> = vec![
        (
            "value",
            Box::new(|| {
                black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap());
            }),
        ),
        (
            "typed_only",
            Box::new(|| {
                black_box(decode(black_box(&body), Validation::TypedOnly));
            }),
        ),
        (
            "strict",
            Box::new(|| {
                black_box(decode(black_box(&body), Validation::Strict));
            }),
        ),
        (
            "cross",
            Box::new(|| {
                black_box(decode(black_box(&body), Validation::CrossCheck));
            }),
        ),
        (
            "node",
            Box::new(|| {
                black_box(Node::parse(black_box(&body)).unwrap());
            }),
        ),
        (
            "typed_checked",
            Box::new(|| {
                black_box(decode_node(black_box(&parsed), Decoder::new()));
            }),
        ),
        (
            "typed_unchecked",
            Box::new(|| {
                black_box(decode_node(black_box(&parsed), Decoder::types_only()));
            }),
        ),
        (
            "clone_drop",
            Box::new(|| {
                drop(black_box(black_box(&decoded).clone()));
            }),
        ),
        (
            "serde_ignored",
            Box::new(|| {
                black_box(
                    serde_json::from_slice::<serde::de::IgnoredAny>(black_box(&body)).unwrap(),
                );
            }),
        ),
        (
            "serde_typed",
            Box::new(|| {
                black_box(serde_json::from_slice::<least::Flavors>(black_box(&body)).unwrap());
            }),
        ),
    ];
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); candidates.len()];
    let mut tempest_samples = Vec::new();
    let mut tempest_error = None;
    for round in 0..runs {
        for (i, (_, f)) in candidates.iter_mut().enumerate() {
            let started = Instant::now();
            f();
            samples[i].push(started.elapsed());
        }
        if round % 10 == 0 {
            match tempest_path(root, &body, 3) {
                Ok(t) => tempest_samples.push(t),
                Err(e) => tempest_error = Some(e),
            }
        }
    }
    let time = |name: &str| {
        let i = candidates.iter().position(|(n, _)| *n == name).unwrap();
        let mut s = samples[i].clone();
        s.sort();
        s[s.len() / 2]
    };
    tempest_samples.sort();
    let tempest = match (
        tempest_samples.get(tempest_samples.len() / 2),
        tempest_error,
    ) {
        (Some(t), _) => Ok(*t),
        (None, Some(e)) => Err(e),
        (None, None) => Err("not run".to_owned()),
    };
    let (untyped, typed_only, strict, cross) = (
        time("value"),
        time("typed_only"),
        time("strict"),
        time("cross"),
    );
    let (node, typed_checked, typed_unchecked) =
        (time("node"), time("typed_checked"), time("typed_unchecked"));
    // A clone of the decoded value allocates and copies what the decode must build, with no
    // parsing or checking; with its drop, that is the cost of the owned output itself.
    let (output, serde_ignored, serde_typed) = (
        time("clone_drop"),
        time("serde_ignored"),
        time("serde_typed"),
    );
    println!();
    println!(
        "== decode of a 1,000-flavor detail body at 2.75 ({mb:.2} MB, median of {runs} \
         interleaved rounds; Tempest: median of {} batches of 3) ==",
        tempest_samples.len()
    );
    println!(
        "{:<58} {:>10} {:>8} {:>10} {:>9}",
        "", "time", "MB/s", "× Tempest", "÷ Value"
    );
    let tempest_time = tempest.as_ref().ok().copied();
    let row = |label: &str, time: Duration| {
        let vs_tempest = tempest_time.map_or("-".to_owned(), |t| {
            format!("{:.1}", t.as_secs_f64() / time.as_secs_f64())
        });
        println!(
            "{label:<58} {:>10.2?} {:>8.1} {:>10} {:>9.2}",
            time,
            mb / time.as_secs_f64(),
            vs_tempest,
            time.as_secs_f64() / untyped.as_secs_f64()
        );
    };
    match &tempest {
        Ok(time) => row("Tempest: json.loads + Draft 4 jsonschema (Python)", *time),
        Err(why) => println!(
            "{:<58} skipped: {why}",
            "Tempest: json.loads + Draft 4 jsonschema"
        ),
    }
    row("serde_json::Value (untyped parse)", untyped);
    row(
        "Validation::TypedOnly (types, no value constraints)",
        typed_only,
    );
    row("Validation::Strict (one pass: every constraint)", strict);
    row("Validation::CrossCheck (jsonschema, then Strict)", cross);
    println!("-- where Strict's time goes --");
    row("  bytes -> Node (sonic-rs arena DOM)", node);
    row(
        "  Node -> typed, checked (the decode itself, output dropped)",
        typed_checked,
    );
    row(
        "    of which: the walk and output, types only",
        typed_unchecked,
    );
    row(
        "    of which: the value checks (checked - types only)",
        typed_checked.saturating_sub(typed_unchecked),
    );
    row(
        "    of which: lookup and dispatch (types only - output)",
        typed_unchecked.saturating_sub(output),
    );
    println!("-- what bounds it: work any typed, checked decode of this body does --");
    row(
        "  serde_json parse, nothing kept (IgnoredAny)",
        serde_ignored,
    );
    row(
        "  building and freeing the typed output alone (clone)",
        output,
    );
    let floor = node + output;
    row("  floor: sonic-rs parse + typed output", floor);
    println!("-- for scale: the least a typed decode can do --");
    row(
        "  serde-derived structs from bytes, no value checked",
        serde_typed,
    );
}

const KEYPAIRS_BODY: &str = r#"{"keypairs": [{"keypair": {"name": "bench-1", "type": "ssh",
    "fingerprint": "3c:71:1b:2d:e1:7a:4a:58:6c:9c:4f:3a:2b:1d:5e:6f",
    "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBench bench@squall"}}]}"#;

/// An in-process HTTP/1.1 server on an ephemeral port answering every request with a
/// keypair list at 2.2, as Nova would.
async fn loopback_server() -> String {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    let response = hyper::Response::builder()
                        .status(200)
                        .header("Content-Type", "application/json")
                        .header("OpenStack-API-Version", "compute 2.2")
                        .header("X-OpenStack-Nova-API-Version", "2.2")
                        .body(Full::new(Bytes::from_static(KEYPAIRS_BODY.as_bytes())))
                        .unwrap();
                    Ok::<_, Infallible>(response)
                });
                let io = hyper_util::rt::TokioIo::new(socket);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    format!("http://{addr}/v2.1")
}

fn client_overhead() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let endpoint = loopback_server().await;
        let http = reqwest::Client::new();
        let rest = Arc::new(
            RestClient::with_http(http.clone()).with_token(Secret::new("cached-token")),
        );
        let keypairs = KeypairsClient::new(
            ServiceClient::new(rest, &endpoint, &compute::SERVICE)
                .with_microversion(ApiVersion::at(2, 2)),
        );
        let url = format!("{endpoint}/os-keypairs");
        let raw = || async {
            let response = http
                .get(&url)
                .header("Accept", "application/json")
                .header("X-Auth-Token", "cached-token")
                .header("OpenStack-API-Version", "compute 2.2")
                .header("X-OpenStack-Nova-API-Version", "2.2")
                .send()
                .await
                .unwrap();
            black_box(response.bytes().await.unwrap());
        };
        let generated = || async {
            let listed = keypairs.list_keypairs(None).await.unwrap();
            assert!(matches!(
                listed.body,
                compute::keypairs::ListKeypairsResponse::V2_2(_)
            ));
            black_box(listed);
        };
        let call = || {
            keypairs
                .service_client()
                .call(&compute::keypairs::LIST_KEYPAIRS, Request::new())
        };
        let untyped = || async {
            black_box(call().await.unwrap());
        };
        // The least a typed decode can add: serde's derived decode of the same body into
        // plain structs, with unknown fields refused but no value checked.
        let least = || async {
            let raw = call().await.unwrap();
            let typed: least::Keypairs = serde_json::from_slice(raw.body()).unwrap();
            assert_eq!(typed.keypairs.len(), 1);
            black_box((raw, typed));
        };
        // Warm up (connections, compiled patterns), then alternate short rounds so load
        // changes on the shared machine hit all four alike.
        for _ in 0..200 {
            raw().await;
            generated().await;
            untyped().await;
            least().await;
        }
        let (rounds, per_round) = (200, 50);
        let mut times = [Duration::ZERO; 4];
        for _ in 0..rounds {
            let started = Instant::now();
            for _ in 0..per_round {
                raw().await;
            }
            times[0] += started.elapsed();
            let started = Instant::now();
            for _ in 0..per_round {
                generated().await;
            }
            times[1] += started.elapsed();
            let started = Instant::now();
            for _ in 0..per_round {
                untyped().await;
            }
            times[2] += started.elapsed();
            let started = Instant::now();
            for _ in 0..per_round {
                least().await;
            }
            times[3] += started.elapsed();
        }
        let n = (rounds * per_round) as f64;
        let per_request = times.map(|t| t.as_secs_f64() * 1e6 / n);
        println!();
        println!(
            "== client overhead: GET /os-keypairs at 2.2, loopback hyper server, {} requests each ==",
            rounds * per_round
        );
        println!(
            "{:<58} {:>10} {:>9} {:>7}",
            "", "requests/s", "µs/req", "× raw"
        );
        let rows = [
            "raw reqwest (same headers, body read as bytes)",
            "KeypairsClient::list_keypairs (token set, Strict)",
            "  its ServiceClient::call alone (checks, no typing)",
            "  bound: call + serde-derived decode, no value checks",
        ];
        for (label, micros) in rows.iter().zip(per_request) {
            println!(
                "{label:<58} {:>10.0} {micros:>9.1} {:>7.2}",
                1e6 / micros,
                per_request[0] / micros
            );
        }
    });
}

/// Plain serde-derived types for the keypair list and the flavor listing: the least work a
/// typed decode of those bodies can do (unknown fields refused, no value checked), to bound
/// the client's overhead and to give the decode figures a scale.
#[allow(dead_code, reason = "decoded to be dropped")]
mod least {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Keypairs {
        pub keypairs: Vec<Item>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Item {
        pub keypair: Keypair,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Keypair {
        pub name: String,
        #[serde(rename = "type")]
        pub kind: String,
        pub fingerprint: String,
        pub public_key: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Flavors {
        pub flavors: Vec<Flavor>,
    }

    /// A flavor at 2.75, typed as squall types it (`rxtx_factor` and `is_public` untyped).
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Flavor {
        pub id: String,
        pub name: String,
        pub ram: i64,
        pub disk: i64,
        pub vcpus: i64,
        pub swap: i64,
        pub rxtx_factor: serde_json::Value,
        pub description: Option<String>,
        #[serde(rename = "OS-FLV-EXT-DATA:ephemeral")]
        pub ephemeral: i64,
        #[serde(rename = "OS-FLV-DISABLED:disabled")]
        pub disabled: bool,
        #[serde(rename = "os-flavor-access:is_public")]
        pub is_public: serde_json::Value,
        pub extra_specs: Option<std::collections::BTreeMap<String, String>>,
        pub links: Vec<Link>,
    }

    /// Links are open records: other members are allowed.
    #[derive(Deserialize)]
    pub struct Link {
        pub rel: String,
        pub href: String,
    }
}
