//! Service control over SSH and Nova's services API, against the real cloud.
//!
//! The compute service here is the real nova-compute of the host `squall-compute-2` (fake virt
//! driver) that `scripts/services.py` runs. It is started, stopped and restarted over SSH
//! through the inventory's commands, and the real Nova API decides up/down from its reports
//! (`report_interval` 2 s, `service_down_time` 10 s). These tests share it, so they take
//! turns.

mod common;

use std::time::Duration;

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
    // services.py's pid file: "<pid> <start time> <command hash>".
    out.stdout_text().split_whitespace().next()?.parse().ok()
}

/// Whether the process lives (a zombie left for a parent that does not reap counts as gone).
async fn alive(ssh: &SshClient, pid: u32) -> bool {
    ssh.exec(&format!(
        "awk '/^State:/ {{ exit ($2 == \"Z\") }}' /proc/{pid}/status 2>/dev/null"
    ))
    .await
    .unwrap()
    .success()
}

/// Whether nova-compute logged `report_interval = <value>` since the log had `from` bytes
/// (with `debug = true`, oslo.config logs every option at start).
async fn logged_interval_since(ssh: &SshClient, from: u64, value: &str) -> bool {
    let log = common::env().compute.log;
    let out = ssh
        .run(&format!(
            "tail -c +{} {log} | grep -E -c 'report_interval += {value}( |$)' || true",
            from + 1
        ))
        .await
        .unwrap();
    out.stdout_text().trim().parse::<u32>().unwrap_or(0) > 0
}

async fn log_size(ssh: &SshClient) -> u64 {
    let log = common::env().compute.log;
    let out = ssh.run(&format!("stat -c %s {log}")).await.unwrap();
    out.stdout_text().trim().parse().unwrap_or(0)
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
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
    // Nova reports down once service_down_time (10 s here) passes without a report.
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
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
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
        guard.set("DEFAULT", "debug", "true").await.unwrap();
        guard.set("DEFAULT", "report_interval", "1").await.unwrap();
        let from = log_size(&ssh).await;
        service.restart().await.unwrap();
        let edited_pid = pid(&ssh).await.unwrap();
        // The restarted nova-compute logs the options it read.
        let mut seen = false;
        for _ in 0..150 {
            seen = logged_interval_since(&ssh, from, "1").await;
            if seen {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(seen, "the service runs with the edited config");
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
    let restored = pid(&ssh).await.expect("running after the guard");
    assert!(alive(&ssh, restored).await);
    wait_for_compute(
        &services_client().await,
        &env.compute_host,
        ServiceState::Up,
        Duration::from_secs(60),
    )
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
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
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
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

    // A real server, booted on one of the two fake-driver computes.
    let boot = ApiVersion::at(2, 37);
    let client = ServersClient::new(common::compute(boot).await);
    let server = common::BootedServer::boot(&client, boot).await;
    let shown = client.show_server(&server.id, None).await.unwrap();
    assert!(
        matches!(shown.body, servers::ShowServerResponse::V2_26(_)),
        "{:?}",
        shown.body
    );
    let location = server_location(&client, &server.id).await.unwrap();
    assert!(location.host.starts_with("squall-compute-"), "{location:?}");
    assert!(
        location.instance_name.starts_with("instance-"),
        "{location:?}"
    );
    assert!(location.hypervisor_hostname.is_some(), "{location:?}");

    // Without admin attributes the error says which one is missing.
    let mut doc: serde_json::Value = serde_json::from_slice(&shown.raw).unwrap();
    doc["server"]
        .as_object_mut()
        .unwrap()
        .retain(|k, _| !k.starts_with("OS-EXT-SRV-ATTR:"));
    let err = location_of("x", &doc).unwrap_err();
    assert!(err.to_string().contains("no OS-EXT-SRV-ATTR:host"), "{err}");
    server.delete(&client).await;
}
