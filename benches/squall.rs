//! `cargo bench`: generation figures and validated-decode throughput, printed as a table.
//!
//! Figures are ratios against baselines measured in the same run: decoding is compared with
//! serde_json's untyped parse of the same body.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use squall::clients::compute::flavors::{LIST_FLAVORS_DETAIL, ListFlavorsDetailResponse};
use squall::runtime::{RawResponse, Validation};

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

fn main() {
    let specs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs");

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

    // Decoding.
    let body = flavor_detail_body(1000);
    let mb = body.len() as f64 / 1e6;
    assert!(matches!(
        decode(&body, Validation::Strict),
        ListFlavorsDetailResponse::V2_75(_)
    ));
    let runs = 30;
    let untyped = median(runs, || {
        black_box(serde_json::from_slice::<Value>(black_box(&body)).unwrap());
    });
    let typed_only = median(runs, || {
        black_box(decode(black_box(&body), Validation::TypedOnly));
    });
    let strict = median(runs, || {
        black_box(decode(black_box(&body), Validation::Strict));
    });
    println!();
    println!("== decode of a 1,000-flavor detail body at 2.75 ({mb:.2} MB, median of {runs}) ==");
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "", "time", "MB/s", "× untyped"
    );
    for (label, time) in [
        ("serde_json::Value (untyped parse, baseline)", untyped),
        ("typed variant (Validation::TypedOnly)", typed_only),
        ("schema-validated typed (Validation::Strict)", strict),
    ] {
        println!(
            "{label:<44} {:>10.2?} {:>10.1} {:>10.2}",
            time,
            mb / time.as_secs_f64(),
            time.as_secs_f64() / untyped.as_secs_f64()
        );
    }
}
