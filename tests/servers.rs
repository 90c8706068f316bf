//! Servers on the real cloud (Nova with a scheduler, a conductor and two fake-driver computes):
//! create at 2.1 and at the newest version, list, show at every response boundary, update,
//! metadata, tags, instance actions and delete. Every response is decoded strictly to the
//! variant of the version the server answered.

mod common;

use common::servers::{self as srv, json_of};
use serde_json::json;
use squall::clients::compute::servers::{ListServersDetailResponse, ShowServerResponse};
use squall::prelude::*;
use squall::runtime::{ApiVersion, Microversion};

fn v(minor: u32) -> ApiVersion {
    ApiVersion::at(2, minor)
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_at_2_1_show_list_and_delete() {
    let version = v(1);
    let client = srv::client(version).await;
    let name = srv::server_name("v21");
    let (guard, created) =
        srv::create_server(&client, version, srv::boot_body(version, &name, json!({}))).await;
    assert_eq!(created.status, 202);
    assert_eq!(created.version, Some(Microversion::new(2, 1)));
    assert!(created.body.contains_key("server"), "{:?}", created.body);
    assert!(json_of(&created)["server"]["adminPass"].is_string());

    let state = srv::wait_for_status(&client, &guard.id, "ACTIVE")
        .await
        .expect("ACTIVE");
    assert_eq!(state.task_state, None);

    let shown = srv::show_server(&client, &guard.id).await.expect("show");
    assert!(
        matches!(shown.body, ShowServerResponse::V2_1(_)),
        "{:?}",
        shown.body
    );
    let server = &json_of(&shown)["server"];
    assert_eq!(server["name"], json!(name));
    assert_eq!(server["status"], json!("ACTIVE"));
    let host = server["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .expect("admin sees the host");
    assert!(
        srv::compute_info().hosts.iter().any(|h| h == host),
        "{host}"
    );

    let listed = srv::list_servers(&client).await.expect("list");
    assert_eq!(listed.status, 200);
    assert!(
        json_of(&listed)["servers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == json!(guard.id)),
        "the new server is listed"
    );
    let detail = srv::list_servers_detail(&client, version, None)
        .await
        .expect("detail");
    assert!(matches!(detail.body, ListServersDetailResponse::V2_1(_)));

    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_at_latest_with_tags_description_and_hostname() {
    let client = srv::client(ApiVersion::Latest).await;
    let name = srv::server_name("latest");
    let body = srv::boot_body(
        v(104),
        &name,
        json!({"description": "squall", "tags": ["one", "two"], "hostname": "squall-latest",
               "metadata": {"k": "v"}}),
    );
    let (guard, created) = srv::create_server(&client, ApiVersion::Latest, body).await;
    assert_eq!(created.status, 202);
    let answered = created.version.expect("answered version");
    assert!(answered >= Microversion::new(2, 104), "{answered}");
    srv::wait_for_status(&client, &guard.id, "ACTIVE")
        .await
        .expect("ACTIVE");

    let shown = srv::show_server(&client, &guard.id).await.expect("show");
    assert!(
        matches!(shown.body, ShowServerResponse::V2_100(_)),
        "{:?}",
        shown.body
    );
    let server = &json_of(&shown)["server"];
    assert_eq!(server["description"], json!("squall"));
    assert_eq!(server["OS-EXT-SRV-ATTR:hostname"], json!("squall-latest"));
    assert_eq!(server["tags"], json!(["one", "two"]));
    assert_eq!(server["locked"], json!(false));
    assert!(
        server["flavor"]["original_name"].is_string(),
        "2.47 embeds the flavor"
    );

    let detail = srv::list_servers_detail(
        &client,
        ApiVersion::Latest,
        Some(json!({"name": [name.clone()]})),
    )
    .await
    .expect("detail filtered by name");
    let servers = json_of(&detail)["servers"].as_array().unwrap().clone();
    assert_eq!(servers.len(), 1, "{servers:?}");

    srv::delete_server(&client, guard).await;
}

/// Every boundary at which the server document changes, shown strictly at that version.
#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn show_at_each_response_boundary() {
    let boot_version = v(37);
    let booter = srv::client(boot_version).await;
    let guard = srv::boot(boot_version, "bounds").await;
    for minor in [
        1, 3, 9, 16, 19, 26, 47, 63, 69, 71, 73, 90, 96, 98, 100, 104,
    ] {
        let version = v(minor);
        let client = srv::client(version).await;
        let shown = srv::show_server(&client, &guard.id)
            .await
            .unwrap_or_else(|e| panic!("show at 2.{minor}: {e}"));
        assert_eq!(shown.version, Some(Microversion::new(2, minor)));
        let variant = format!("{:?}", shown.body);
        let expected = match minor {
            1 => "V2_1(",
            3 => "V2_3(",
            9 => "V2_9(",
            16 => "V2_16(",
            19 => "V2_19(",
            26 => "V2_26(",
            47 => "V2_47(",
            63 => "V2_63(",
            69 => "V2_69(",
            71 => "V2_71(",
            73 => "V2_73(",
            90 => "V2_90(",
            96 => "V2_96(",
            98 => "V2_98(",
            100 | 104 => "V2_100(",
            _ => unreachable!(),
        };
        assert!(variant.starts_with(expected), "2.{minor}: {variant:.80}");
        let server = json_of(&shown)["server"].clone();
        assert_eq!(
            server.get("locked").is_some(),
            minor >= 9,
            "locked from 2.9"
        );
        assert_eq!(server.get("tags").is_some(), minor >= 26, "tags from 2.26");
        assert_eq!(
            server["flavor"].get("vcpus").is_some(),
            minor >= 47,
            "flavor embedded from 2.47"
        );
        assert_eq!(server.get("locked_reason").is_some(), minor >= 73);
        assert_eq!(
            server.get("pinned_availability_zone").is_some(),
            minor >= 96
        );
        let detail = srv::list_servers_detail(
            &client,
            version,
            Some(json!({"name": [
            json_of(&shown)["server"]["name"].clone()]})),
        )
        .await
        .unwrap_or_else(|e| panic!("detail at 2.{minor}: {e}"));
        assert_eq!(json_of(&detail)["servers"].as_array().unwrap().len(), 1);
    }
    srv::delete_server(&booter, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn rename_metadata_tags_and_instance_actions() {
    let version = v(26);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "meta").await;
    let id = guard.id.clone();

    let new_name = srv::server_name("renamed");
    let updated = srv::update_server(&client, version, &id, json!({"server": {"name": new_name}}))
        .await
        .expect("rename");
    assert_eq!(json_of(&updated)["server"]["name"], json!(new_name));

    let merged = srv::update_metadata(&client, version, &id, json!({"metadata": {"a": "1"}}))
        .await
        .expect("metadata POST");
    assert_eq!(json_of(&merged)["metadata"], json!({"a": "1"}));
    let replaced = srv::replace_metadata(&client, version, &id, json!({"metadata": {"b": "2"}}))
        .await
        .expect("metadata PUT");
    assert_eq!(json_of(&replaced)["metadata"], json!({"b": "2"}));
    let listed = srv::list_metadata(&client, &id)
        .await
        .expect("metadata GET");
    assert_eq!(json_of(&listed)["metadata"], json!({"b": "2"}));

    let tags = srv::replace_tags(&client, version, &id, json!({"tags": ["x", "y"]}))
        .await
        .expect("tags PUT");
    assert_eq!(json_of(&tags)["tags"], json!(["x", "y"]));
    let listed = srv::list_tags(&client, &id).await.expect("tags GET");
    assert_eq!(json_of(&listed)["tags"], json!(["x", "y"]));
    let checked = client
        .check_server_tag(&id, "x", None)
        .await
        .expect("tag x");
    assert_eq!(checked.status, 204);
    let deleted = client
        .delete_server_tag(&id, "x")
        .await
        .expect("delete tag");
    assert_eq!(deleted.status, 204);
    let missing = client.check_server_tag(&id, "x", None).await.unwrap_err();
    assert_eq!(
        missing.http_kind(),
        Some(squall::runtime::HttpErrorKind::NotFound)
    );

    let actions = srv::list_instance_actions(&client, &id)
        .await
        .expect("actions");
    let listed = json_of(&actions)["instanceActions"]
        .as_array()
        .unwrap()
        .clone();
    let create = listed
        .iter()
        .find(|a| a["action"] == json!("create"))
        .expect("a create action");
    let request_id = create["request_id"].as_str().unwrap();
    for minor in [1, 51, 62, 84] {
        let client = srv::client(v(minor)).await;
        let shown = srv::show_instance_action(&client, &id, request_id)
            .await
            .unwrap_or_else(|e| panic!("instance action at 2.{minor}: {e}"));
        assert_eq!(json_of(&shown)["instanceAction"]["action"], json!("create"));
    }
    srv::delete_server(&client, guard).await;
}

/// The seed's example: list servers through ServiceClients, in both regions.
#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn list_servers_through_service_clients_in_two_regions() {
    let version = v(37);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "regions").await;
    let clients = common::admin_service_clients();
    for region in ["RegionOne", "RegionTwo"] {
        let servers = clients
            .compute()
            .with_region(region)
            .servers()
            .await
            .expect("servers client");
        let listed = servers.list_servers(None).await.expect("list_servers");
        let ids: Vec<String> = json_of(&listed)["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert!(ids.contains(&guard.id), "{region}: {ids:?}");
    }
    srv::delete_server(&client, guard).await;
}
