//! Ironic's declared API (imported by `squall-gen import baremetal`, beside the hand-written
//! nodes and version documents): how many operations the specs declare, and, against the real
//! Ironic, every imported list without path parameters at each version boundary the server
//! supports, decoded strictly to the answered version's variant.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use serde_json::{Value, json};
use squall::clients::baremetal::{self, VersionsClient};
use squall::prelude::*;
use squall::runtime::{Error, Microversion, OperationMeta, Response, ServiceClient};
use squall_gen::import::{HEADER, overlay};
use squall_gen::resolve::load_service;

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/baremetal")
}

/// Whether a group's files were written by the import (they start with its header).
fn imported(dir: &Path, group: &str) -> bool {
    let mut found = None;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let file = entry.path().join(format!("{group}.yaml"));
        if let Ok(text) = std::fs::read_to_string(&file) {
            let this = text.starts_with(HEADER);
            assert!(
                found.is_none_or(|f| f == this),
                "{group}: imported and hand-written files mixed ({})",
                file.display()
            );
            found = Some(this);
        }
    }
    found.unwrap_or_else(|| panic!("no file of group {group}"))
}

/// 51 operations imported from Ironic 39's declarations plus 8 hand-written (nodes 6, version
/// documents 2). Ironic 39 declares schemas on 60 routes (scripts/dump/test_counts.py): the
/// overlay leaves out 5 (vendor passthru by GET/PUT/PATCH/DELETE, the lone inspection-rule
/// delete) and 4 declare no response (inspection rules).
#[test]
fn declared_operation_counts() {
    let dir = specs();
    let service = load_service(&dir).expect("specs/baremetal loads");
    let mut imported_ops = BTreeSet::new();
    let mut hand = BTreeMap::new();
    for (name, group) in &service.groups {
        if imported(&dir, name) {
            imported_ops.extend(group.operations.keys().cloned());
        } else {
            hand.insert(name.clone(), group.operations.len());
        }
    }
    let total: usize = service.groups.values().map(|g| g.operations.len()).sum();
    assert_eq!(imported_ops.len(), 51, "imported: {imported_ops:?}");
    assert_eq!(
        hand,
        BTreeMap::from([("nodes".to_owned(), 6), ("versions".to_owned(), 2)])
    );
    assert_eq!(total, 59);
    assert_eq!(service.groups.len(), 15);

    // The overlay names every imported operation, and nothing else survives the import.
    let ov = overlay::load(&dir.join("overlay.yaml")).expect("overlay loads");
    let named: BTreeSet<String> = ov
        .overlay
        .operations
        .values()
        .filter(|o| !o.skip)
        .filter_map(|o| o.name.clone())
        .collect();
    assert_eq!(named, imported_ops);
    let skipped = ov.overlay.operations.values().filter(|o| o.skip).count();
    assert_eq!(skipped, 5);
}

/// `specs/baremetal` is exactly what the installed Ironic's dump plus the overlay import to (the
/// dump runs in the services' virtualenv, beside `cloud.json`; nothing is started or contacted).
#[test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
fn specs_are_the_import_of_the_installed_ironic() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = common::cloud_json_path()
        .parent()
        .expect("cloud.json's folder")
        .join("venv/bin/python");
    assert!(
        python.is_file(),
        "{}: no services virtualenv (python3 scripts/services.py up installs it)",
        python.display()
    );
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let dump = scratch.path().join("baremetal.json");
    let status = std::process::Command::new(&python)
        .arg(root.join("scripts/dump/ironic.py"))
        .arg("--out")
        .arg(&dump)
        .args(["--expect", "60,60,0"])
        .current_dir(&root)
        .status()
        .expect("the dump script runs");
    assert!(status.success(), "scripts/dump/ironic.py: {status}");
    let report = squall_gen::import::check(&squall_gen::import::Options {
        service: "baremetal".into(),
        dump,
        specs: root.join("specs"),
        overlay: None,
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (report.operations, report.undeclared, report.skipped),
        (51, 4, 5),
        "{report}"
    );
}

/// Ironic runs on SQLite here: the live tests take turns (concurrent writes meet "database is
/// locked").
static IRONIC: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a call answered: status, version and the typed variant's name.
#[derive(Debug)]
struct Seen {
    status: u16,
    version: Option<Microversion>,
    variant: String,
    /// The length of the body's list (`{"chassis": [...]}`), when it has one.
    items: Option<usize>,
}

impl Seen {
    fn of<T: Debug>(response: &Response<T>) -> Self {
        let debug = format!("{:?}", response.body);
        let end = debug.find(['(', ' ', '{']).unwrap_or(debug.len());
        let raw: Value = serde_json::from_slice(&response.raw).unwrap_or(Value::Null);
        let items = raw
            .as_object()
            .and_then(|o| o.values().find_map(Value::as_array))
            .map(Vec::len);
        Self {
            status: response.status,
            version: response.version,
            variant: debug[..end].to_owned(),
            items,
        }
    }
}

type Call = fn(ServiceClient) -> Pin<Box<dyn Future<Output = Result<Seen, Error>> + Send>>;

/// An operation, its table and a call of it with no query.
struct Case {
    meta: &'static OperationMeta,
    call: Call,
}

macro_rules! case {
    ($client:ident . $method:ident ( $($arg:expr)? ) , $meta:path) => {
        Case {
            meta: &$meta,
            call: |service| {
                Box::pin(async move {
                    let response = baremetal::$client::new(service).$method($($arg)?).await?;
                    Ok(Seen::of(&response))
                })
            },
        }
    };
}

/// Every imported GET without path parameters. Operations with path parameters need a
/// resource first (a node, a driver name): they are exercised elsewhere or listed in the
/// issue's notes.
fn cases() -> Vec<Case> {
    use baremetal::{
        allocations as a, chassis as c, conductors as co, deploy_templates as d, drivers as dr,
        portgroups as p, shards as s, volume as v, volume_connectors as vc, volume_targets as vt,
    };
    vec![
        case!(
            AllocationsClient.list_allocations(None),
            a::LIST_ALLOCATIONS
        ),
        case!(ChassisClient.list_chassis(None), c::LIST_CHASSIS),
        case!(
            ChassisClient.list_chassis_detail(None),
            c::LIST_CHASSIS_DETAIL
        ),
        case!(ConductorsClient.list_conductors(None), co::LIST_CONDUCTORS),
        case!(
            DeployTemplatesClient.list_deploy_templates(None),
            d::LIST_DEPLOY_TEMPLATES
        ),
        case!(DriversClient.list_drivers(None), dr::LIST_DRIVERS),
        case!(PortgroupsClient.list_portgroups(None), p::LIST_PORTGROUPS),
        case!(
            PortgroupsClient.list_portgroups_detail(None),
            p::LIST_PORTGROUPS_DETAIL
        ),
        case!(ShardsClient.list_shards(None), s::LIST_SHARDS),
        case!(VolumeClient.show_volume(), v::SHOW_VOLUME),
        case!(
            VolumeConnectorsClient.list_volume_connectors(None),
            vc::LIST_VOLUME_CONNECTORS
        ),
        case!(
            VolumeTargetsClient.list_volume_targets(None),
            vt::LIST_VOLUME_TARGETS
        ),
    ]
}

/// The server's highest microversion, from its root document.
async fn server_max() -> Microversion {
    let versions =
        VersionsClient::new(common::service(&baremetal::SERVICE, ApiVersion::Null).await)
            .list_versions()
            .await
            .expect("Ironic's root document");
    versions
        .body
        .default_version
        .version
        .parse()
        .expect("a microversion")
}

/// The name of the response variant that covers `version`: variants are named after the first
/// version of the first span that has their type.
fn expected_variant(meta: &OperationMeta, version: Microversion) -> Option<String> {
    let index = meta.variants[meta.variant_for(version)?].index;
    let distinct: BTreeSet<usize> = meta.variants.iter().map(|v| v.index).collect();
    if distinct.len() < 2 {
        return None; // one response type: no enum to pick from
    }
    let first = meta.variants.iter().find(|v| v.index == index)?.span.min;
    Some(format!("V{}_{}", first.major, first.minor))
}

/// The versions to try: where the operation starts, where each response variant starts, and the
/// server's maximum, as far as the server goes.
fn boundaries(meta: &OperationMeta, max: Microversion) -> Vec<Microversion> {
    let range = meta.range().expect("an operation has spans");
    let mut out: BTreeSet<Microversion> = meta.variants.iter().map(|v| v.span.min).collect();
    out.insert(range.min);
    if range.contains(max) {
        out.insert(max);
    }
    out.into_iter()
        .filter(|v| *v <= max && range.contains(*v))
        .collect()
}

/// One of each resource the lists show, created at the newest version, so that every list
/// decodes a member at every boundary (conductors and drivers are there already).
struct Fixtures {
    v: ApiVersion,
    chassis: String,
    template: String,
    node: String,
    portgroup: String,
    connector: String,
    target: String,
    allocation: String,
}

fn uuid_of(raw: &[u8]) -> String {
    let body: Value = serde_json::from_slice(raw).expect("a JSON body");
    body["uuid"].as_str().expect("a uuid").to_owned()
}

async fn client<C>(make: fn(ServiceClient) -> C, v: ApiVersion) -> C {
    make(common::service(&baremetal::SERVICE, v).await)
}

impl Fixtures {
    async fn create(v: ApiVersion) -> Self {
        use baremetal::{
            allocations as a, chassis as c, deploy_templates as d, nodes as n, portgroups as p,
            volume_connectors as vc, volume_targets as vt,
        };
        let tag = common::unique("bm");
        let chassis = client(baremetal::ChassisClient::new, v)
            .await
            .create_chassis(
                &c::CreateChassisRequest::from_json_at(v, json!({"description": tag})).unwrap(),
            )
            .await
            .expect("create chassis");
        let template_name = format!("CUSTOM_{}", tag.to_uppercase().replace(['-', '.'], "_"));
        let template = client(baremetal::DeployTemplatesClient::new, v)
            .await
            .create_deploy_template(
                &d::CreateDeployTemplateRequest::from_json_at(
                    v,
                    json!({"name": template_name, "steps": [{"interface": "bios",
                           "step": "apply_configuration", "args": {"settings": []},
                           "priority": 150}]}),
                )
                .unwrap(),
            )
            .await
            .expect("create deploy template");
        let node = client(baremetal::NodesClient::new, v)
            .await
            .create_node(
                &n::CreateNodeRequest::from_json_at(
                    v,
                    json!({"driver": "fake-hardware", "shard": "squall-shard", "name": tag}),
                )
                .unwrap(),
            )
            .await
            .expect("create node");
        let node = uuid_of(&node.raw);
        let portgroup = client(baremetal::PortgroupsClient::new, v)
            .await
            .create_portgroup(
                &p::CreatePortgroupRequest::from_json_at(v, json!({"node_uuid": node})).unwrap(),
            )
            .await
            .expect("create portgroup");
        let connector = client(baremetal::VolumeConnectorsClient::new, v)
            .await
            .create_volume_connector(
                &vc::CreateVolumeConnectorRequest::from_json_at(
                    v,
                    json!({"node_uuid": node, "type": "iqn",
                           "connector_id": format!("iqn.2026-12.org.squall:{tag}")}),
                )
                .unwrap(),
            )
            .await
            .expect("create volume connector");
        let target = client(baremetal::VolumeTargetsClient::new, v)
            .await
            .create_volume_target(
                &vt::CreateVolumeTargetRequest::from_json_at(
                    v,
                    json!({"node_uuid": node, "volume_type": "iscsi", "boot_index": 0,
                           "volume_id": tag}),
                )
                .unwrap(),
            )
            .await
            .expect("create volume target");
        let allocation = client(baremetal::AllocationsClient::new, v)
            .await
            .create_allocation(
                &a::CreateAllocationRequest::from_json_at(
                    v,
                    json!({"resource_class": "squall-none"}),
                )
                .unwrap(),
            )
            .await
            .expect("create allocation");
        Self {
            v,
            chassis: uuid_of(&chassis.raw),
            template: uuid_of(&template.raw),
            portgroup: uuid_of(&portgroup.raw),
            connector: uuid_of(&connector.raw),
            target: uuid_of(&target.raw),
            allocation: uuid_of(&allocation.raw),
            node,
        }
    }

    /// Deletes everything; returns what could not be deleted.
    async fn delete(self) -> Vec<String> {
        let v = self.v;
        let mut left = Vec::new();
        let mut note = |what: &str, r: Result<Response<squall::runtime::NoBody>, Error>| {
            if let Err(e) = r {
                left.push(format!("{what}: {e}"));
            }
        };
        let allocations = client(baremetal::AllocationsClient::new, v).await;
        note(
            "allocation",
            allocations.delete_allocation(&self.allocation).await,
        );
        let targets = client(baremetal::VolumeTargetsClient::new, v).await;
        note(
            "volume target",
            targets.delete_volume_target(&self.target).await,
        );
        let connectors = client(baremetal::VolumeConnectorsClient::new, v).await;
        note(
            "volume connector",
            connectors.delete_volume_connector(&self.connector).await,
        );
        let portgroups = client(baremetal::PortgroupsClient::new, v).await;
        note(
            "portgroup",
            portgroups.delete_portgroup(&self.portgroup).await,
        );
        let nodes = client(baremetal::NodesClient::new, v).await;
        note("node", nodes.delete_node(&self.node).await);
        let templates = client(baremetal::DeployTemplatesClient::new, v).await;
        note(
            "deploy template",
            templates.delete_deploy_template(&self.template).await,
        );
        let chassis = client(baremetal::ChassisClient::new, v).await;
        note("chassis", chassis.delete_chassis(&self.chassis).await);
        left
    }
}

#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn every_list_without_path_parameters_at_each_boundary() {
    let _turn = IRONIC.lock().await;
    let max = server_max().await;
    let fixtures = Fixtures::create(ApiVersion::at(max.major, max.minor)).await;
    let cases = cases();
    assert_eq!(cases.len(), 12);
    let mut calls = 0;
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.meta.name;
        let path = case.meta.last_span().map_or("", |s| s.path);
        assert!(!path.contains('{'), "{name} has path parameters: {path}");
        let versions = boundaries(case.meta, max);
        assert!(!versions.is_empty(), "{name}: no version up to {max}");
        for version in versions {
            let (major, minor) = (version.major, version.minor);
            let service = common::service(&baremetal::SERVICE, ApiVersion::at(major, minor)).await;
            calls += 1;
            match (case.call)(service).await {
                Ok(seen) => {
                    if seen.status != 200 || seen.version != Some(version) {
                        failures.push(format!("{name} at {version}: answered {seen:?}"));
                    }
                    if seen.items == Some(0) {
                        failures.push(format!("{name} at {version}: an empty list"));
                    }
                    if let Some(want) = expected_variant(case.meta, version) {
                        if seen.variant != want {
                            failures.push(format!(
                                "{name} at {version}: variant {} instead of {want}",
                                seen.variant
                            ));
                        }
                    }
                }
                Err(e) => failures.push(format!("{name} at {version}: {e}")),
            }
        }
    }
    let left = fixtures.delete().await;
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(left.is_empty(), "fixtures left behind: {left:?}");
    // Seven variants of list_drivers, two of list_allocations, at least one call per operation.
    assert!(calls >= 19, "{calls} calls");
}

/// A table for `GET path` at every version, so a request can go where the typed client would
/// refuse to send it (below the operation's range).
fn probe(name: &'static str, path: &'static str) -> &'static OperationMeta {
    use squall::runtime::contract as rt;
    let spans: &'static [rt::OpSpan] =
        Box::leak(Box::new([rt::op(rt::from(1, 1), "GET", path, &[200])]));
    let variants: &'static [rt::VariantMeta] =
        Box::leak(Box::new([rt::no_body(rt::from(1, 1), 0)]));
    Box::leak(Box::new(OperationMeta::new(
        name,
        &baremetal::SERVICE,
        spans,
        variants,
    )))
}

/// Ironic gates these resources in code (`api_utils.allow_*`), not by declaration; the dump
/// evaluates the gates. One version below the imported range Ironic itself answers 404.
#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn one_version_below_the_imported_range_ironic_answers_404() {
    let _turn = IRONIC.lock().await;
    for case in cases() {
        let first = case.meta.range().expect("spans").min;
        if first.minor <= 1 {
            continue; // there from the first version (chassis, drivers)
        }
        let path = case.meta.last_span().expect("spans").path;
        let below = ApiVersion::at(first.major, first.minor - 1);
        let service = common::service(&baremetal::SERVICE, below).await;
        let err = service
            .call(probe(case.meta.name, path), squall::runtime::Request::new())
            .await
            .expect_err("below the range");
        assert_eq!(
            err.http_kind(),
            Some(squall::runtime::HttpErrorKind::NotFound),
            "{} at {below:?}: {err}",
            case.meta.name
        );
    }
}

/// Ironic's v1 document lists a link array per resource beside its typed fields; its type is
/// open to them only as arrays (`additionalProperties: {type: array}`), so the Strict decode
/// checks every one it does not name.
#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn the_v1_document_checks_the_members_it_does_not_name() {
    let versions = client(VersionsClient::new, ApiVersion::at(1, 1)).await;
    let doc = versions.show_v1().await.expect("the v1 document decodes");
    let version = doc.version.expect("Ironic answers a version");
    let mut body: Value = serde_json::from_slice(&doc.raw).expect("a JSON body");
    assert!(body["nodes"].is_array(), "an unnamed member: {body}");
    let entry = baremetal::TABLE
        .find("show_v1")
        .expect("show_v1 is in the table");
    let mut nested = body.clone();
    nested["nodes"][0]["href"] = json!(5);
    let text = serde_json::to_vec(&nested).expect("JSON");
    match entry.decode_body(version, text.into(), squall::runtime::Validation::Strict) {
        Err(Error::Validation { pointer, .. }) => assert_eq!(pointer, "/nodes/0/href"),
        other => panic!("a link's href must be a string: {other:?}"),
    }
    body["nodes"] = json!("not links");
    let text = serde_json::to_vec(&body).expect("JSON");
    match entry.decode_body(
        version,
        text.clone().into(),
        squall::runtime::Validation::Strict,
    ) {
        Err(Error::Validation { pointer, .. }) => assert_eq!(pointer, "/nodes"),
        other => panic!("a string where the links are must be refused: {other:?}"),
    }
    let typed_only =
        entry.decode_body(version, text.into(), squall::runtime::Validation::TypedOnly);
    assert!(typed_only.is_ok(), "types only: {typed_only:?}");
}
