//! Server actions on the real cloud: each action is sent at a stated microversion, its
//! response decoded strictly, and the server waited for (Tempest's `wait_for_server_status`)
//! until it reaches the state the action leads to.

mod common;

use common::servers::{self as srv, json_of};
use serde_json::json;
use squall::clients::compute::server_actions::CreateServerImageResponse;
use squall::clients::compute::servers::ShowServerResponse;
use squall::runtime::ApiVersion;

fn v(minor: u32) -> ApiVersion {
    ApiVersion::at(2, minor)
}

/// Migrations move servers between the two hosts; one at a time, so that each sees both.
static HOSTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn reboot_stop_start_pause_suspend() {
    let version = v(37);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "power").await;
    let id = guard.id.clone();

    for kind in ["SOFT", "HARD"] {
        let rebooted = srv::reboot(&client, version, &id, json!({"reboot": {"type": kind}}))
            .await
            .expect("reboot");
        assert_eq!(rebooted.status, 202);
        srv::wait_for_status(&client, &id, "ACTIVE")
            .await
            .expect("rebooted");
    }
    let steps = [
        ("os-stop", "SHUTOFF"),
        ("os-start", "ACTIVE"),
        ("pause", "PAUSED"),
        ("unpause", "ACTIVE"),
        ("suspend", "SUSPENDED"),
        ("resume", "ACTIVE"),
    ];
    for (action, status) in steps {
        let body = json!({ action: null });
        let sent = match action {
            "os-stop" => srv::stop(&client, version, &id, body).await,
            "os-start" => srv::start(&client, version, &id, body).await,
            "pause" => srv::pause(&client, version, &id, body).await,
            "unpause" => srv::unpause(&client, version, &id, body).await,
            "suspend" => srv::suspend(&client, version, &id, body).await,
            _ => srv::resume(&client, version, &id, body).await,
        }
        .unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(sent.status, 202, "{action}");
        let state = srv::wait_for_status(&client, &id, status)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"));
        assert_eq!(state.status, status);
    }
    let dumped = srv::trigger_crash_dump(&client, v(37), &id)
        .await
        .expect("trigger_crash_dump (2.17+)");
    assert_eq!(dumped.status, 202);
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    // A server does not become something it cannot be: the waiter reports the last state.
    let quick = squall::runtime::waiters::Waiter::new(
        std::time::Duration::from_millis(200),
        std::time::Duration::from_secs(1),
    );
    let err = quick
        .wait_for_server_status_idle(&id, "SHUTOFF", || srv::server_state(&client, &id))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("status ACTIVE"), "{err}");
    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn lock_with_reason_at_2_73_and_unlock() {
    let version = v(73);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "lock").await;
    let id = guard.id.clone();
    let locked = srv::lock(
        &client,
        version,
        &id,
        json!({"lock": {"locked_reason": "squall"}}),
    )
    .await
    .expect("lock");
    assert_eq!(locked.status, 202);
    let shown = srv::show_server(&client, &id).await.expect("show");
    assert!(
        matches!(shown.body, ShowServerResponse::V2_73(_)),
        "{:?}",
        shown.body
    );
    let server = &json_of(&shown)["server"];
    assert_eq!(server["locked"], json!(true));
    assert_eq!(server["locked_reason"], json!("squall"));
    let unlocked = srv::unlock(&client, version, &id, json!({"unlock": null}))
        .await
        .expect("unlock");
    assert_eq!(unlocked.status, 202);
    let server = json_of(&srv::show_server(&client, &id).await.unwrap())["server"].clone();
    assert_eq!(server["locked"], json!(false));
    assert_eq!(server["locked_reason"], json!(null));
    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_image_before_and_after_2_45() {
    for version in [v(1), v(45)] {
        let client = srv::client(version).await;
        let guard = srv::boot(v(37), "image").await;
        let name = srv::server_name("snap");
        let created = srv::create_image(
            &client,
            version,
            &guard.id,
            json!({"createImage": {"name": name}}),
        )
        .await
        .expect("createImage");
        assert_eq!(created.status, 202);
        match (&created.body, version == v(1)) {
            (CreateServerImageResponse::V2_1, true) => {
                assert!(
                    created.header("Location").is_some(),
                    "2.1 answers a Location"
                );
            }
            (CreateServerImageResponse::V2_45(_), false) => {
                assert!(
                    json_of(&created)["image_id"].is_string(),
                    "2.45 answers the image id"
                );
            }
            (other, _) => panic!("createImage at {version}: {other:?}"),
        }
        srv::wait_for_status(&client, &guard.id, "ACTIVE")
            .await
            .expect("back to ACTIVE after the snapshot");
        srv::delete_server(&client, guard).await;
    }
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn resize_confirm_and_revert() {
    let _hosts = HOSTS.lock().await;
    let version = v(37);
    let client = srv::client(version).await;
    let info = srv::compute_info();
    let guard = srv::boot(version, "resize").await;
    let id = guard.id.clone();
    let flavor = |client: &squall::clients::compute::ServersClient, id: String| {
        let client = client.clone();
        async move {
            json_of(&srv::show_server(&client, &id).await.unwrap())["server"]["flavor"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };

    let resized = srv::resize(
        &client,
        version,
        &id,
        json!({"resize": {"flavorRef": info.resize_flavor_ref}}),
    )
    .await
    .expect("resize");
    assert_eq!(resized.status, 202);
    srv::wait_for_status(&client, &id, "VERIFY_RESIZE")
        .await
        .expect("VERIFY_RESIZE");
    let confirmed = srv::confirm_resize(&client, version, &id, json!({"confirmResize": null}))
        .await
        .expect("confirm");
    assert_eq!(confirmed.status, 204);
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    assert_eq!(flavor(&client, id.clone()).await, info.resize_flavor_ref);

    srv::resize(
        &client,
        version,
        &id,
        json!({"resize": {"flavorRef": info.flavor_ref}}),
    )
    .await
    .expect("resize back");
    srv::wait_for_status(&client, &id, "VERIFY_RESIZE")
        .await
        .expect("VERIFY_RESIZE");
    let reverted = srv::revert_resize(&client, version, &id, json!({"revertResize": null}))
        .await
        .expect("revert");
    assert_eq!(reverted.status, 202);
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    assert_eq!(
        flavor(&client, id.clone()).await,
        info.resize_flavor_ref,
        "reverted"
    );
    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn cold_and_live_migrate_between_the_two_hosts() {
    let _hosts = HOSTS.lock().await;
    let version = v(56);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "migrate").await;
    let id = guard.id.clone();
    let info = srv::compute_info();
    let other = |host: &str| info.hosts.iter().find(|h| *h != host).unwrap().clone();

    let first = srv::host_of(&client, &id).await;
    let target = other(&first);
    let migrated = srv::migrate(&client, version, &id, json!({"migrate": {"host": target}}))
        .await
        .expect("cold migrate (2.56: to a named host)");
    assert_eq!(migrated.status, 202);
    srv::wait_for_status(&client, &id, "VERIFY_RESIZE")
        .await
        .expect("VERIFY_RESIZE");
    srv::confirm_resize(&client, version, &id, json!({"confirmResize": null}))
        .await
        .expect("confirm the migration");
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    assert_eq!(srv::host_of(&client, &id).await, target);

    let live = srv::live_migrate(
        &client,
        version,
        &id,
        json!({"os-migrateLive": {"host": null, "block_migration": "auto"}}),
    )
    .await
    .expect("live migrate");
    assert_eq!(live.status, 202);
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    assert_eq!(
        srv::host_of(&client, &id).await,
        first,
        "back on the first host"
    );

    let actions = srv::list_instance_actions(&client, &id)
        .await
        .expect("actions");
    let names: Vec<String> = json_of(&actions)["instanceActions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    for action in ["create", "migrate", "confirmResize", "live-migration"] {
        assert!(names.iter().any(|n| n == action), "{action} in {names:?}");
    }
    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn shelve_offload_and_unshelve() {
    let _hosts = HOSTS.lock().await;
    let version = v(77);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "shelve").await;
    let id = guard.id.clone();
    let shelved = srv::shelve(&client, version, &id, json!({"shelve": null}))
        .await
        .expect("shelve");
    assert_eq!(shelved.status, 202);
    // shelved_offload_time is 0 by default: the server is offloaded at once.
    srv::wait_for_status(&client, &id, "SHELVED_OFFLOADED")
        .await
        .expect("SHELVED_OFFLOADED");
    let unshelved = srv::unshelve(&client, version, &id, json!({"unshelve": null}))
        .await
        .expect("unshelve");
    assert_eq!(unshelved.status, 202);
    srv::wait_for_status(&client, &id, "ACTIVE")
        .await
        .expect("ACTIVE");
    srv::delete_server(&client, guard).await;
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn rebuild_keeps_the_server() {
    let version = v(63);
    let client = srv::client(version).await;
    let guard = srv::boot(version, "rebuild").await;
    let info = srv::compute_info();
    let rebuilt = srv::rebuild(
        &client,
        version,
        &guard.id,
        json!({"rebuild": {"imageRef": info.image_ref, "name": srv::server_name("rebuilt")}}),
    )
    .await
    .expect("rebuild");
    assert_eq!(rebuilt.status, 202);
    assert_eq!(json_of(&rebuilt)["server"]["id"], json!(guard.id));
    srv::wait_for_status(&client, &guard.id, "ACTIVE")
        .await
        .expect("ACTIVE");
    srv::delete_server(&client, guard).await;
}
