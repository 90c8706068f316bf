//! Service control over SSH and Nova's services API, against the real Nova API.
//!
//! The compute service here is scripts/whitebox/compute_heartbeat.py, a stand-in for
//! nova-compute's state reporting (the local Nova has no message bus or hypervisor, so the real
//! nova-compute cannot run). It writes its service record with Nova's own objects; the real
//! Nova API decides up/down from it. It is started, stopped and restarted over SSH through the
//! inventory's commands. These tests share it, so they take turns.

mod common;

use std::time::Duration;

use serde_json::json;
use squall_clients::compute::{ServersClient, ServicesClient, servers};
use squall_runtime::{ApiVersion, Error as ApiError, HttpErrorKind};
use squall_whitebox::compute::{location_of, server_location};
use squall_whitebox::services::{wait_for_compute, wait_for_service_state};
use squall_whitebox::{Error, ServiceState, SshClient};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn services_client() -> ServicesClient {
    ServicesClient::new(common::compute(ApiVersion::at(2, 53)).await)
}

async fn pid(ssh: &SshClient) -> Option<u32> {
    let out = ssh
        .exec(&format!("cat {}", common::env().compute.pid_file))
        .await
        .unwrap();
    out.stdout_text().trim().parse().ok()
}

async fn alive(ssh: &SshClient, pid: u32) -> bool {
    ssh.exec(&format!("kill -0 {pid}")).await.unwrap().success()
}

/// The report_interval of the stand-in's most recent start, from its log.
async fn last_started_interval(ssh: &SshClient) -> String {
    let log = common::env().compute.log;
    let out = ssh
        .run(&format!("grep '^started ' {log} | tail -n 1"))
        .await
        .unwrap();
    out.stdout_text()
        .trim()
        .rsplit('=')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn start_stop_restart_and_the_services_api_follows() {
    let _turn = TURN.lock().await;
    let env = common::env();
    let wb = common::whitebox();
    let ssh = wb.ssh(&env.compute_host).unwrap();
    let service = wb.service(&env.compute_host, "nova-compute").unwrap();
    let api = services_client().await;

    service.start().await.unwrap();
    wait_for_compute(
        &api,
        &env.compute_host,
        ServiceState::Up,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    let first = pid(&ssh).await.expect("pid after start");
    assert!(alive(&ssh, first).await);

    service.restart().await.unwrap();
    let second = pid(&ssh).await.expect("pid after restart");
    assert_ne!(first, second, "restart made a new process");
    assert!(!alive(&ssh, first).await, "the old process is gone");
    wait_for_compute(
        &api,
        &env.compute_host,
        ServiceState::Up,
        Duration::from_secs(60),
    )
    .await
    .unwrap();

    service.stop().await.unwrap();
    assert!(!alive(&ssh, second).await);
    // Nova reports down once service_down_time (60 s by default) passes without a report.
    wait_for_compute(
        &api,
        &env.compute_host,
        ServiceState::Down,
        Duration::from_secs(150),
    )
    .await
    .unwrap();

    service.start().await.unwrap();
    wait_for_compute(
        &api,
        &env.compute_host,
        ServiceState::Up,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_config_guard_restores_and_restarts_the_service() {
    let _turn = TURN.lock().await;
    let env = common::env();
    let wb = common::whitebox();
    let ssh = wb.ssh(&env.compute_host).unwrap();
    let service = wb.service(&env.compute_host, "nova-compute").unwrap();
    service.start().await.unwrap();
    let config = wb.config(&env.compute_host, "nova-compute").unwrap();
    let original = ssh.read_file(config.path()).await.unwrap();
    {
        let guard = config.guard().await.unwrap();
        guard.set("DEFAULT", "report_interval", "1").await.unwrap();
        service.restart().await.unwrap();
        let edited_pid = pid(&ssh).await.unwrap();
        // Wait for the restarted stand-in to log the value it read.
        let mut seen = String::new();
        for _ in 0..100 {
            seen = last_started_interval(&ssh).await;
            if seen == "1" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(seen, "1", "the service runs with the edited config");
        assert!(alive(&ssh, edited_pid).await);
        drop(guard);
        assert_eq!(
            ssh.read_file(config.path()).await.unwrap(),
            original,
            "byte for byte"
        );
        assert!(
            !alive(&ssh, edited_pid).await,
            "the guard restarted the service"
        );
    }
    let mut seen = String::new();
    for _ in 0..100 {
        seen = last_started_interval(&ssh).await;
        if seen == "2" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        seen, "2",
        "after the guard, the service runs with the original config"
    );
}

#[tokio::test]
async fn waiting_for_a_state_that_never_comes_times_out() {
    let api = services_client().await;
    let err = wait_for_service_state(
        &api,
        "no-such-host",
        "nova-compute",
        ServiceState::Up,
        Duration::from_secs(2),
        Duration::from_millis(500),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::WaitTimeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("nova-compute on no-such-host") && text.contains("not listed"),
        "{text}"
    );
}

#[tokio::test]
async fn server_location_comes_from_the_admin_attributes() {
    // The real API: an unknown server is a 404 that names the operation.
    let client = ServersClient::new(common::compute(ApiVersion::at(2, 3)).await);
    let err = server_location(&client, "00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    let Error::Api { source, .. } = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert!(
        matches!(
            source.as_ref(),
            ApiError::Http {
                kind: HttpErrorKind::NotFound,
                ..
            }
        ),
        "{source:?}"
    );

    // No server can boot on this Nova (no compute, image service or scheduler), so the
    // attributes are read from a server document shaped as Nova 2.3 answers an admin; it must
    // pass the 2.3 schema's strict decoding first.
    let doc = json!({"server": {
        "accessIPv4": "", "accessIPv6": "", "addresses": {}, "config_drive": "",
        "created": "2026-11-23T10:00:00Z", "flavor": {"id": "1", "links": []},
        "hostId": "92154fab69d5883ba2c8622b7e65f745dd33257221c07af363c51b29", "id": "a1f0c2d4-1111-4a5b-8c6d-000000000001",
        "image": "", "key_name": null, "links": [], "metadata": {}, "name": "nfv-1",
        "os-extended-volumes:volumes_attached": [], "status": "ACTIVE",
        "tenant_id": "6f70656e737461636b20342065766572", "updated": "2026-11-23T10:00:05Z",
        "user_id": "fake", "OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-SRV-ATTR:host": "squall-wb-compute",
        "OS-EXT-SRV-ATTR:hypervisor_hostname": "squall-wb-compute",
        "OS-EXT-SRV-ATTR:instance_name": "instance-00000001",
        "OS-EXT-SRV-ATTR:hostname": "nfv-1", "OS-EXT-SRV-ATTR:launch_index": 0,
        "OS-EXT-SRV-ATTR:reservation_id": "r-abcdefgh", "OS-EXT-SRV-ATTR:kernel_id": "",
        "OS-EXT-SRV-ATTR:ramdisk_id": "", "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
        "OS-EXT-SRV-ATTR:user_data": null,
        "OS-EXT-STS:power_state": 1, "OS-EXT-STS:task_state": null, "OS-EXT-STS:vm_state": "active",
        "OS-SRV-USG:launched_at": "2026-11-23T10:00:04.000000", "OS-SRV-USG:terminated_at": null
    }});
    let body: squall_clients::compute::types::ShowServerResponseV2_3 =
        squall_runtime::decode::from_value(&doc).unwrap();
    let location = location_of(
        "a1f0c2d4-1111-4a5b-8c6d-000000000001",
        &servers::ShowServerResponse::V2_3(body),
    )
    .unwrap();
    assert_eq!(location.host, "squall-wb-compute");
    assert_eq!(location.instance_name, "instance-00000001");
    // ...and that host and name lead to a real domain through the inventory.
    let domain = common::whitebox()
        .virsh(&location.host)
        .unwrap()
        .dumpxml(&location.instance_name)
        .await
        .unwrap();
    assert_eq!(domain.pinned_cpus().to_string(), "2-3");

    // Without admin attributes the error says which one is missing.
    let mut doc = doc;
    doc["server"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !k.starts_with("OS-EXT-SRV-ATTR:"));
    let body: squall_clients::compute::types::ShowServerResponseV2_3 =
        squall_runtime::decode::from_value(&doc).unwrap();
    let err = location_of("x", &servers::ShowServerResponse::V2_3(body)).unwrap_err();
    assert!(err.to_string().contains("no OS-EXT-SRV-ATTR:host"), "{err}");
}
