//! Every read-only operation of compute, identity and placement that the local cloud can answer
//! without creating anything, at every version boundary of the operation that the server
//! supports: the answer must carry the requested version and decode strictly (the runtime's
//! default validation, then the typed decode of the generated table) to the variant of the
//! answered version. Operations are found in the generated tables, so a newly imported GET is
//! walked without editing this file; the ones that cannot run here are listed with the reason.
//! (Ironic's lists are walked by `baremetal_declared.rs`, with fixtures.)

mod common;

use std::collections::BTreeMap;

use squall::clients::{compute, identity, placement};
use squall::runtime::{
    ApiVersion, Microversion, OperationEntry, Request, ServiceMeta, ServiceTable,
};

/// Operations this walk leaves out, and why (each is checked to exist, so the list stays true).
/// GETs with a path parameter the cloud has no value for (a server, a port, ...) are left out
/// too; the test prints them with the parameter they need.
const CANNOT_RUN_HERE: &[(&str, &str, &str)] = &[
    (
        "compute",
        "list_flavor_access",
        "only a private flavor has an access list (404 on public ones)",
    ),
    (
        "compute",
        "list_volumes",
        "proxies to Cinder, which this cloud does not run (500)",
    ),
    (
        "compute",
        "list_volumes_detail",
        "proxies to Cinder, which this cloud does not run (500)",
    ),
    (
        "compute",
        "list_snapshots",
        "proxies to Cinder, which this cloud does not run (500)",
    ),
    (
        "compute",
        "list_snapshots_detail",
        "proxies to Cinder, which this cloud does not run (500)",
    ),
    (
        "compute",
        "list_baremetal_nodes",
        "Nova's Ironic proxy has no credentials configured here (500)",
    ),
    (
        "placement",
        "list_allocation_candidates",
        "needs a `resources` query (placement_allocations.rs)",
    ),
    (
        "placement",
        "list_total_usages",
        "needs a `project_id` query (tests/placement.rs)",
    ),
    (
        "identity",
        "validate_token",
        "needs a subject token header (tests/identity.rs)",
    ),
];

/// Values for path parameters the local cloud has without creating anything.
fn fill(param: &str, cloud: &Known) -> Option<String> {
    Some(match param {
        "project_id" | "tenant_id" => cloud.project_id.clone(),
        "user_id" => cloud.user_id.clone(),
        "domain_id" => "default".to_owned(),
        "flavor_id" => cloud.flavor_id.clone(),
        "quota_class" => "default".to_owned(),
        _ => return None,
    })
}

/// What the walk knows about the local cloud.
struct Known {
    project_id: String,
    user_id: String,
    flavor_id: String,
}

async fn known() -> Known {
    use squall::prelude::*;
    let cloud = common::cloud();
    let cloud_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::cloud_json_path()).unwrap()).unwrap();
    let auth = common::admin_service_clients()
        .identity()
        .auth()
        .await
        .expect("identity auth client");
    let projects = auth.list_auth_projects().await.expect("auth projects");
    let project_id = projects
        .body
        .projects
        .iter()
        .find(|p| p.name == cloud.project_name)
        .map(|p| p.id.clone())
        .expect("the admin project");
    Known {
        project_id,
        user_id: cloud_json["user_id"].as_str().expect("user_id").to_owned(),
        flavor_id: cloud_json["compute"]["flavor_ref"]
            .as_str()
            .expect("flavor_ref")
            .to_owned(),
    }
}

/// The versions where the operation's method, path, statuses or response variant change, up
/// to `max`, plus `max` itself.
fn boundaries(entry: &OperationEntry, max: Microversion) -> Vec<Microversion> {
    let meta = entry.meta;
    let mut out: Vec<Microversion> = meta
        .spans
        .iter()
        .map(|s| s.span.min)
        .chain(meta.variants.iter().map(|v| v.span.min))
        .filter(|v| *v <= max)
        .collect();
    if meta.spans.iter().any(|s| s.span.contains(max)) {
        out.push(max);
    }
    out.sort();
    out.dedup();
    out
}

/// Walks one service's read-only operations; returns (calls, failures).
async fn walk(
    meta: &'static ServiceMeta,
    table: &'static ServiceTable,
    max: Option<Microversion>,
    cloud: &Known,
) -> (usize, Vec<String>) {
    let skipped: BTreeMap<&str, &str> = CANNOT_RUN_HERE
        .iter()
        .filter(|(s, _, _)| *s == meta.name)
        .map(|(_, op, why)| (*op, *why))
        .collect();
    for op in skipped.keys() {
        assert!(
            table.find(op).is_some(),
            "{}.{op} is not in the table",
            meta.name
        );
    }
    let (mut calls, mut failures, mut needs) = (0, Vec::new(), Vec::new());
    for entry in table.operations() {
        let name = entry.meta.name;
        if skipped.contains_key(name) {
            continue;
        }
        let versions = match max {
            Some(max) => boundaries(entry, max),
            None => vec![meta.min_version],
        };
        for version in versions {
            let Some(span) = entry.meta.spans.iter().find(|s| s.span.contains(version)) else {
                continue;
            };
            if span.method != "GET" {
                continue;
            }
            let mut request = Request::new();
            let mut missing = None;
            for param in params(span.path) {
                match fill(param, cloud) {
                    Some(value) => request = request.param(param, &value),
                    None => missing = Some(param),
                }
            }
            if let Some(param) = missing {
                needs.push(format!("{}.{name} ({param})", meta.name));
                break; // needs a resource this walk does not create
            }
            let asked = match max {
                Some(_) => ApiVersion::at(version.major, version.minor),
                None => ApiVersion::Null,
            };
            let service = common::service(meta, asked).await;
            calls += 1;
            // The runtime checks that the answer echoes the requested version, picks the
            // variant of the answered version and validates it strictly; the table's decoder
            // types it.
            let outcome = service
                .call(entry.meta, request)
                .await
                .and_then(entry.decode);
            if let Err(e) = outcome {
                failures.push(format!("{}.{name} at {version}: {e}", meta.name));
            }
        }
    }
    println!(
        "{}: {calls} calls; not walked, needing a resource: {}",
        meta.name,
        needs.join(", ")
    );
    (calls, failures)
}

fn params(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .collect()
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova and Placement (scripts/services.py up)"]
async fn every_read_only_operation_at_every_boundary() {
    let cloud = known().await;
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for (meta, table, max) in [
        (
            &compute::SERVICE,
            &compute::TABLE,
            Some(Microversion::new(2, 104)),
        ),
        (
            &placement::SERVICE,
            &placement::TABLE,
            Some(Microversion::new(1, 39)),
        ),
        (&identity::SERVICE, &identity::TABLE, None),
    ] {
        let (calls, mut failed) = walk(meta, table, max, &cloud).await;
        report.push(format!("{}: {calls}", meta.name));
        assert!(calls > 0, "{}: nothing walked", meta.name);
        failures.append(&mut failed);
    }
    println!("calls: {}", report.join(", "));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
