//! Evacuate: a server whose compute host goes down is rebuilt on the other host. The test
//! stops a real nova-compute (through `scripts/services.py stop`), so it lives in a test binary
//! of its own: no other server test runs while a host is down.

mod common;

use common::servers::{self as srv, json_of};
use serde_json::json;
use squall::runtime::ApiVersion;

#[tokio::test]
#[ignore = "live: needs Nova and its computes (scripts/services.py up)"]
async fn evacuate_from_a_down_host() {
    let version = ApiVersion::at(2, 29);
    let client = srv::client(version).await;
    let guard = srv::boot(ApiVersion::at(2, 37), "evacuate").await;
    let source = srv::host_of(&client, &guard.id).await;
    {
        let stopped = srv::StoppedCompute::stop(&source);
        srv::wait_for_compute_state(&source, "down").await;
        let evacuated = srv::evacuate(&client, version, &guard.id, json!({"evacuate": {}}))
            .await
            .expect("evacuate");
        assert_eq!(evacuated.status, 200);
        assert!(json_of(&evacuated).is_null(), "no body from 2.14 on");
        srv::wait_for_status(&client, &guard.id, "ACTIVE")
            .await
            .expect("ACTIVE after the evacuation");
        assert_ne!(srv::host_of(&client, &guard.id).await, source);
        drop(stopped);
    }
    srv::wait_for_compute_state(&source, "up").await;
    srv::delete_server(&client, guard).await;
}
