//! The sample microversion tests of the microversion testing plan, written with
//! `squall-testing`: each declares its range, and the framework skips it or runs it at the
//! version Tempest's rules select. Shared by the `microversion_samples` suite (run as is, with the
//! configuration the environment names) and the `microversion_matrix` test (run under several
//! configurations, in process).

#![allow(dead_code)]

use serde_json::{Value, json};
use squall::clients::{baremetal, compute, placement};
use squall::prelude::*;
use squall::runtime::ApiVersion;
use squall_testing::{Requires, Suite, TestContext, TestResult, assert_answered};

use baremetal::nodes::{CreateNodeRequest, NodesClient};
use compute::keypairs::{
    CreateKeypairRequest, KeypairsClient, ListKeypairsQuery, ListKeypairsResponse,
};
use placement::resource_providers::{
    CreateResourceProviderRequest, CreateResourceProviderResponse, ResourceProvidersClient,
};

/// From 2.92 Nova no longer generates keys: the request must carry a public key.
const PUBLIC_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDFEGenVjRXC3/DFQDE9bNvsoDkqKwnokpilXc+VfKhI squall-sample";

/// Every sample test's name, as the runner reports it.
pub const NAMES: [&str; 9] = [
    "keypairs_v22::create_is_201_with_type_and_delete_is_204",
    "keypairs_list_v210_to_v234",
    "keypairs_list_v235_paginates",
    "keypairs_list_any_version",
    "placement_resource_provider_create_v120",
    "compute_and_placement_together",
    "baremetal_node_create_v131",
    "baremetal_node_create_v11",
    "servers_v247::flavor_is_embedded_in_the_server",
];

/// Registers the samples.
pub fn register(suite: &mut Suite) {
    let compute = &compute::SERVICE;
    let placement = &placement::SERVICE;
    suite.group(
        "keypairs_v22",
        Requires::new().service(compute, "2.2", "latest"),
        |group| {
            group.test(
                "create_is_201_with_type_and_delete_is_204",
                keypair_create_v22,
            );
        },
    );
    suite.test(
        "keypairs_list_v210_to_v234",
        Requires::new().service(compute, "2.10", "2.34"),
        keypairs_list_v210,
    );
    suite.test(
        "keypairs_list_v235_paginates",
        Requires::new().service(compute, "2.35", "latest"),
        keypairs_list_v235,
    );
    suite.test(
        "keypairs_list_any_version",
        Requires::new().service(compute, "", "latest"),
        keypairs_list_any,
    );
    suite.test(
        "placement_resource_provider_create_v120",
        Requires::new().service(placement, "1.20", "latest"),
        resource_provider_create_v120,
    );
    suite.test(
        "compute_and_placement_together",
        Requires::new()
            .service(compute, "2.2", "latest")
            .service(placement, "1.14", "latest"),
        compute_and_placement,
    );
    let baremetal = &baremetal::SERVICE;
    suite.test(
        "baremetal_node_create_v131",
        Requires::new().service(baremetal, "1.31", "latest"),
        node_create_v131,
    );
    suite.test(
        "baremetal_node_create_v11",
        Requires::new().service(baremetal, "", "1.30"),
        node_create_v11,
    );
    suite.group(
        "servers_v247",
        Requires::new().service(compute, "2.47", "latest"),
        |group| {
            group.test("flavor_is_embedded_in_the_server", server_flavor_v247);
        },
    );
}

/// From 2.47 a server shows its flavor embedded (name, sizes, extra specs), not a link. Boots a
/// real server at the selected version; the guard deletes it whatever happens.
async fn server_flavor_v247(ctx: TestContext) -> TestResult {
    use crate::common::servers as srv;
    let version = compute_version(&ctx);
    let client: compute::ServersClient = ctx.client().await?;
    let name = srv::server_name("sample-v247");
    let body = compute::servers::CreateServerRequest::from_json_at(
        version,
        srv::boot_body(version, &name, json!({})),
    )?;
    let created = client.create_server(&body).await?;
    assert_answered(&created, version)?;
    let guard = srv::ServerGuard::new(
        raw(&created.raw)?["server"]["id"]
            .as_str()
            .unwrap_or_default(),
    );
    srv::waiter()
        .wait_for_server_status_idle(&guard.id, "ACTIVE", || {
            srv::server_state(&client, &guard.id)
        })
        .await?;
    let shown = client.show_server(&guard.id, None).await?;
    assert_answered(&shown, version)?;
    let flavor = &raw(&shown.raw)?["server"]["flavor"];
    assert!(
        flavor.get("id").is_none(),
        "no flavor id from 2.47: {flavor}"
    );
    assert_eq!(flavor["original_name"], json!("squall.tiny"));
    assert_eq!(flavor["vcpus"], json!(1));
    assert_eq!(flavor["ram"], json!(64));
    assert!(flavor["extra_specs"].is_object(), "{flavor}");
    client.delete_server(&guard.id).await?;
    srv::waiter()
        .wait_for_server_termination(&guard.id, || srv::server_state(&client, &guard.id))
        .await?;
    guard.deleted();
    Ok(())
}

fn compute_version(ctx: &TestContext) -> ApiVersion {
    ctx.version(&compute::SERVICE).unwrap_or_default()
}

/// The create-keypair body for `version`: from 2.92 Nova needs the public key.
fn keypair_body(
    version: ApiVersion,
    name: &str,
) -> Result<CreateKeypairRequest, squall::runtime::VariantError> {
    let mut keypair = json!({"name": name});
    if version >= ApiVersion::at(2, 92) {
        keypair["public_key"] = json!(PUBLIC_KEY);
    }
    CreateKeypairRequest::from_json_at(version, json!({"keypair": keypair}))
}

async fn create_keypair(client: &KeypairsClient, version: ApiVersion, name: &str) -> TestResult {
    let created = client.create_keypair(&keypair_body(version, name)?).await?;
    assert_answered(&created, version)?;
    Ok(())
}

fn raw(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice(bytes)
}

fn names(list: &Value) -> Vec<String> {
    list["keypairs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k["keypair"]["name"].as_str().map(str::to_owned))
        .collect()
}

/// 2.2 added `type` to keypairs, and made create answer 201 and delete 204.
async fn keypair_create_v22(ctx: TestContext) -> TestResult {
    let version = compute_version(&ctx);
    let client: KeypairsClient = ctx.client().await?;
    assert_eq!(
        client.microversion(),
        version,
        "the client carries the selected version"
    );
    let name = unique("kp-v22");
    let created = client
        .create_keypair(&keypair_body(version, &name)?)
        .await?;
    assert_answered(&created, version)?;
    assert_eq!(created.status, 201, "create answers 201 from 2.2");
    assert_eq!(raw(&created.raw)?["keypair"]["type"], json!("ssh"));

    let deleted = client.delete_keypair(&name, None).await?;
    assert_answered(&deleted, version)?;
    assert_eq!(deleted.status, 204, "delete answers 204 from 2.2");
    Ok(())
}

/// Before 2.35 the listing has no pagination links.
async fn keypairs_list_v210(ctx: TestContext) -> TestResult {
    let version = compute_version(&ctx);
    let client: KeypairsClient = ctx.client().await?;
    let name = unique("kp-v210");
    create_keypair(&client, version, &name).await?;
    let listed = client.list_keypairs(None).await;
    client.delete_keypair(&name, None).await?;
    let listed = listed?;
    assert_answered(&listed, version)?;
    assert!(
        matches!(listed.body, ListKeypairsResponse::V2_2(_)),
        "2.10–2.34 decodes to the 2.2 list, got {:?}",
        listed.body
    );
    let body = raw(&listed.raw)?;
    assert!(names(&body).contains(&name), "{body}");
    assert!(
        body.get("keypairs_links").is_none(),
        "no links before 2.35: {body}"
    );
    Ok(())
}

/// From 2.35 the listing takes `limit`/`marker` and links to the next page.
async fn keypairs_list_v235(ctx: TestContext) -> TestResult {
    let version = compute_version(&ctx);
    let client: KeypairsClient = ctx.client().await?;
    let first = unique("kp-v235a");
    let second = unique("kp-v235b");
    create_keypair(&client, version, &first).await?;
    create_keypair(&client, version, &second).await?;
    let query = ListKeypairsQuery::from_json_at(version, json!({"limit": 1}))?;
    let page = client.list_keypairs(Some(&query)).await;
    for name in [&first, &second] {
        client.delete_keypair(name, None).await?;
    }
    let page = page?;
    assert_answered(&page, version)?;
    let body = raw(&page.raw)?;
    assert_eq!(names(&body).len(), 1, "limit=1 gives one keypair: {body}");
    let next = &body["keypairs_links"][0];
    assert_eq!(next["rel"], json!("next"), "{body}");
    assert!(
        next["href"].as_str().is_some_and(|h| h.contains("marker=")),
        "the next link carries a marker: {body}"
    );
    Ok(())
}

/// No minimum: runs under every configuration, sending the configured minimum (or nothing).
async fn keypairs_list_any(ctx: TestContext) -> TestResult {
    let version = compute_version(&ctx);
    let client: KeypairsClient = ctx.client().await?;
    let listed = client.list_keypairs(None).await?;
    assert_answered(&listed, version)?;
    if version.is_null() {
        assert_eq!(
            listed.version,
            Some(compute::SERVICE.default_version),
            "without a header Nova answers its default version"
        );
    }
    Ok(())
}

/// 1.20 made resource-provider create answer 200 with the provider instead of 201 empty.
async fn resource_provider_create_v120(ctx: TestContext) -> TestResult {
    let version = ctx.version(&placement::SERVICE).unwrap_or_default();
    let client: ResourceProvidersClient = ctx.client().await?;
    let name = unique("rp-v120");
    let body = CreateResourceProviderRequest::from_json_at(version, json!({"name": name}))?;
    let created = client.create_resource_provider(&body).await?;
    assert_answered(&created, version)?;
    assert_eq!(created.status, 200);
    let CreateResourceProviderResponse::V1_20(provider) = &created.body else {
        panic!("1.20+ returns the provider, got {:?}", created.body);
    };
    assert_eq!(provider.name, name);
    let deleted = client.delete_resource_provider(&provider.uuid).await?;
    assert_eq!(deleted.status, 204);
    Ok(())
}

/// A test needing two services at once: each client carries its own service's version.
async fn compute_and_placement(ctx: TestContext) -> TestResult {
    let keypairs: KeypairsClient = ctx.client().await?;
    let providers: ResourceProvidersClient = ctx.client().await?;
    let compute_version = compute_version(&ctx);
    let placement_version = ctx.version(&placement::SERVICE).unwrap_or_default();
    assert_answered(&keypairs.list_keypairs(None).await?, compute_version)?;
    assert_answered(
        &providers.list_resource_providers(None).await?,
        placement_version,
    )?;
    Ok(())
}

/// The driver interfaces 1.31 made settable per node (all enabled as `fake` here).
const INTERFACES: [&str; 5] = [
    "boot_interface",
    "deploy_interface",
    "management_interface",
    "power_interface",
    "vendor_interface",
];

/// Creates a node at the test's version, checks it, deletes it; returns the created body.
async fn create_node(ctx: &TestContext, extra: Value) -> Result<Value, squall_testing::TestError> {
    let version = ctx.version(&baremetal::SERVICE).unwrap_or_default();
    let client: NodesClient = ctx.client().await?;
    let mut node = json!({"driver": "fake-hardware"});
    if let (Some(node), Some(extra)) = (node.as_object_mut(), extra.as_object()) {
        node.extend(extra.clone());
    }
    let body = CreateNodeRequest::from_json_at(version, node)?;
    let created = client.create_node(&body).await?;
    let value = raw(&created.raw)?;
    let uuid = value["uuid"].as_str().unwrap_or_default().to_owned();
    let deleted = client.delete_node(&uuid).await?;
    assert_answered(&created, version)?;
    assert_eq!(created.status, 201, "{value}");
    assert_eq!(deleted.status, 204);
    Ok(value)
}

/// 1.31 added the per-node driver interfaces: settable on create and shown on the node.
async fn node_create_v131(ctx: TestContext) -> TestResult {
    let interfaces: serde_json::Map<String, Value> = INTERFACES
        .iter()
        .map(|name| ((*name).to_owned(), json!("fake")))
        .collect();
    let node = create_node(&ctx, Value::Object(interfaces)).await?;
    for name in INTERFACES {
        assert_eq!(node[name], json!("fake"), "{name} in {node}");
    }
    Ok(())
}

/// Up to 1.30 a node has no per-node interfaces; with no header Ironic answers 1.1.
async fn node_create_v11(ctx: TestContext) -> TestResult {
    let node = create_node(&ctx, json!({})).await?;
    for name in INTERFACES {
        assert!(
            node.get(name).is_none(),
            "{name} must not appear before 1.31: {node}"
        );
    }
    Ok(())
}

/// A name unique to this process and call.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}
