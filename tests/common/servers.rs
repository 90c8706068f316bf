//! Servers on the real cloud: the one place the server tests touch the generated compute API.
//!
//! Every function here is thin: it builds the request through the generated request enum's
//! `from_json_at(version, json)` and returns the checked response, so a change of the generated
//! API is adapted here and nowhere else. Every server a test boots is held by a
//! [`ServerGuard`], which deletes it when dropped, also when the test fails.

#![allow(dead_code)]

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use squall::clients::compute::{
    self, InstanceActionsClient, ServerActionsClient, ServersClient, instance_actions,
    server_actions, servers,
};
use squall::runtime::waiters::{ServerState, WaitError, Waiter};
use squall::runtime::{ApiVersion, Error, Response, VersionedRequest as _};

/// Names of servers booted by tests start with this; the final check looks for them.
pub const TEST_SERVER_PREFIX: &str = "squall-test";

/// Build interval and timeout of the server waiters (the fake driver acts within seconds).
pub fn waiter() -> Waiter {
    Waiter::new(Duration::from_millis(500), Duration::from_secs(120))
}

/// What cloud.json says about the compute side of the cloud.
#[derive(Debug, Clone, Deserialize)]
pub struct ComputeInfo {
    pub hosts: Vec<String>,
    pub flavor_ref: String,
    pub resize_flavor_ref: String,
    pub image_ref: String,
    pub networks: String,
}

/// The compute facts of the running cloud.
pub fn compute_info() -> ComputeInfo {
    #[derive(Deserialize)]
    struct WithCompute {
        compute: ComputeInfo,
    }
    let text = std::fs::read_to_string(super::cloud_json_path()).expect("cloud.json");
    serde_json::from_str::<WithCompute>(&text)
        .expect("cloud.json has `compute`: run `python3 scripts/services.py up`")
        .compute
}

/// A servers client at `version`, through the real catalog.
pub async fn client(version: ApiVersion) -> ServersClient {
    ServersClient::new(super::service(&compute::SERVICE, version).await)
}

/// Deletes its server when dropped (unless [`ServerGuard::deleted`] was called), and waits
/// until it is gone; it runs on a thread of its own with a fresh session, so that it works
/// while a test unwinds.
#[derive(Debug)]
pub struct ServerGuard {
    pub id: String,
    armed: bool,
}

impl ServerGuard {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            armed: true,
        }
    }

    /// The test deleted the server itself.
    pub fn deleted(mut self) {
        self.armed = false;
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let id = self.id.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async {
                let client = client(ApiVersion::at(2, 1)).await;
                delete_and_wait(&client, &id).await
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("cleanup of server {}: {e}", self.id),
            Err(_) => eprintln!("cleanup of server {} panicked", self.id),
        }
    }
}

/// Deletes a server (a 404 counts as deleted) and waits until it is gone.
pub async fn delete_and_wait(client: &ServersClient, id: &str) -> Result<(), String> {
    // A locked server cannot be deleted by its owner; the admin can, but unlock anyway.
    let _ = unlock(client, ApiVersion::at(2, 1), id, json!({"unlock": null})).await;
    match client.delete_server(id).await {
        Ok(_) => {}
        Err(e) if e.http_kind() == Some(squall::runtime::HttpErrorKind::NotFound) => {
            return Ok(());
        }
        Err(e) => return Err(format!("delete: {e}")),
    }
    wait_for_termination(client, id)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// A unique name for a test server.
pub fn server_name(tag: &str) -> String {
    super::unique(&format!("{TEST_SERVER_PREFIX}-{tag}"))
}

/// The body of a boot request at `version`: the cloud's tiny image and flavor, no network
/// (2.37+ needs `networks`; no mechanism driver binds ports here), plus `extra` fields.
pub fn boot_body(version: ApiVersion, name: &str, extra: Value) -> Value {
    let info = compute_info();
    let mut server =
        json!({"name": name, "imageRef": info.image_ref, "flavorRef": info.flavor_ref});
    if version >= ApiVersion::at(2, 37) {
        server["networks"] = json!(info.networks);
    }
    if let (Some(target), Value::Object(more)) = (server.as_object_mut(), extra) {
        target.extend(more);
    }
    json!({"server": server})
}

/// Creates a server at `version` (the response decoded strictly) and guards it.
pub async fn create_server(
    client: &ServersClient,
    version: ApiVersion,
    body: Value,
) -> (
    ServerGuard,
    Response<compute::types::CreateServerResponseV2_1>,
) {
    let request = servers::CreateServerRequest::from_json_at(version, body)
        .expect("create body matches the version's schema");
    let created = client.create_server(&request).await.expect("create server");
    let id = json_of(&created)["server"]["id"]
        .as_str()
        .expect("created server has an id")
        .to_owned();
    (ServerGuard::new(id), created)
}

/// Boots a server at `version` (with a client of that version) and waits until it is ACTIVE
/// with no task.
pub async fn boot(version: ApiVersion, tag: &str) -> ServerGuard {
    let client = &client(version).await;
    let name = server_name(tag);
    let (guard, _) = create_server(client, version, boot_body(version, &name, json!({}))).await;
    wait_for_status(client, &guard.id, "ACTIVE")
        .await
        .unwrap_or_else(|e| panic!("server {name} did not boot: {e}"));
    guard
}

/// The JSON of a checked response (already decoded strictly by the runtime); `null` when the
/// response has no body.
pub fn json_of<T>(response: &Response<T>) -> Value {
    if response.raw.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&response.raw).expect("checked body is JSON")
}

/// Shows a server (strictly decoded at the client's version).
pub async fn show_server(
    client: &ServersClient,
    id: &str,
) -> Result<Response<servers::ShowServerResponse>, Error> {
    client.show_server(id, None).await
}

/// Lists servers (id, name, links).
pub async fn list_servers(
    client: &ServersClient,
) -> Result<Response<servers::ListServersResponse>, Error> {
    client.list_servers(None).await
}

/// Lists servers with all their attributes, filtered by `query` (JSON of the query schema).
pub async fn list_servers_detail(
    client: &ServersClient,
    version: ApiVersion,
    query: Option<Value>,
) -> Result<Response<servers::ListServersDetailResponse>, Error> {
    let query = query
        .map(|q| servers::ListServersDetailQuery::from_json_at(version, q).expect("query matches"));
    client.list_servers_detail(query.as_ref()).await
}

/// The state the waiters read, from a strict show.
pub async fn server_state(client: &ServersClient, id: &str) -> Result<ServerState, Error> {
    let shown = show_server(client, id).await?;
    Ok(ServerState::from_json(&json_of(&shown)))
}

/// Waits for `status` with no task state.
pub async fn wait_for_status(
    client: &ServersClient,
    id: &str,
    status: &str,
) -> Result<ServerState, WaitError> {
    waiter()
        .wait_for_server_status_idle(id, status, || server_state(client, id))
        .await
}

/// Waits until the server is gone.
pub async fn wait_for_termination(client: &ServersClient, id: &str) -> Result<Duration, WaitError> {
    waiter()
        .wait_for_server_termination(id, || server_state(client, id))
        .await
}

/// Deletes a server and checks the 204.
pub async fn delete_server(client: &ServersClient, guard: ServerGuard) {
    let deleted = client
        .delete_server(&guard.id)
        .await
        .expect("delete server");
    assert_eq!(deleted.status, 204);
    wait_for_termination(client, &guard.id)
        .await
        .expect("server goes away");
    guard.deleted();
}

/// Updates (renames) a server.
pub async fn update_server(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    body: Value,
) -> Result<Response<servers::UpdateServerResponse>, Error> {
    let body = servers::UpdateServerRequest::from_json_at(version, body).expect("update body");
    client.update_server(id, &body).await
}

/// One thin function per server action: builds the request enum at `version` from JSON and
/// sends it through a `ServerActionsClient` on the same service client (same version); the
/// response is checked by the runtime.
macro_rules! actions {
    ($($fn_name:ident => $method:ident($request:ident) -> $response:ty;)*) => {$(
        pub async fn $fn_name(
            client: &ServersClient,
            version: ApiVersion,
            id: &str,
            body: Value,
        ) -> Result<Response<$response>, Error> {
            let body = server_actions::$request::from_json_at(version, body)
                .expect(concat!(stringify!($request), " matches the version's schema"));
            ServerActionsClient::new(client.service_client().clone())
                .$method(id, &body)
                .await
        }
    )*};
}

actions! {
    reboot => reboot_server(RebootServerRequest) -> squall::runtime::NoBody;
    stop => stop_server(StopServerRequest) -> squall::runtime::NoBody;
    start => start_server(StartServerRequest) -> squall::runtime::NoBody;
    pause => pause_server(PauseServerRequest) -> squall::runtime::NoBody;
    unpause => unpause_server(UnpauseServerRequest) -> squall::runtime::NoBody;
    suspend => suspend_server(SuspendServerRequest) -> squall::runtime::NoBody;
    resume => resume_server(ResumeServerRequest) -> squall::runtime::NoBody;
    lock => lock_server(LockServerRequest) -> squall::runtime::NoBody;
    unlock => unlock_server(UnlockServerRequest) -> squall::runtime::NoBody;
    resize => resize_server(ResizeServerRequest) -> squall::runtime::NoBody;
    confirm_resize => confirm_resize_server(ConfirmResizeServerRequest) -> squall::runtime::NoBody;
    revert_resize => revert_resize_server(RevertResizeServerRequest) -> squall::runtime::NoBody;
    migrate => migrate_server(MigrateServerRequest) -> squall::runtime::NoBody;
    live_migrate => live_migrate_server(LiveMigrateServerRequest) -> squall::runtime::NoBody;
    shelve => shelve_server(ShelveServerRequest) -> squall::runtime::NoBody;
    shelve_offload => shelve_offload_server(ShelveOffloadServerRequest) -> squall::runtime::NoBody;
    unshelve => unshelve_server(UnshelveServerRequest) -> squall::runtime::NoBody;
    rebuild => rebuild_server(RebuildServerRequest) -> server_actions::RebuildServerResponse;
    evacuate => evacuate_server(EvacuateServerRequest) -> server_actions::EvacuateServerResponse;
    create_image => create_server_image(CreateServerImageRequest) -> server_actions::CreateServerImageResponse;
}

/// Metadata: POST (merge) at `version`.
pub async fn update_metadata(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    body: Value,
) -> Result<Response<compute::types::UpdateServerMetadataResponseV2_1>, Error> {
    let body = servers::UpdateServerMetadataRequest::from_json_at(version, body).expect("body");
    client.update_server_metadata(id, &body).await
}

/// Metadata: PUT (replace all) at `version`.
pub async fn replace_metadata(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    body: Value,
) -> Result<Response<compute::types::ReplaceServerMetadataResponseV2_1>, Error> {
    let body = servers::ReplaceServerMetadataRequest::from_json_at(version, body).expect("body");
    client.replace_server_metadata(id, &body).await
}

/// Metadata: GET all.
pub async fn list_metadata(
    client: &ServersClient,
    id: &str,
) -> Result<Response<compute::types::ListServerMetadataResponseV2_1>, Error> {
    client.list_server_metadata(id, None).await
}

/// Tags: PUT (replace all) at `version` (2.26+).
pub async fn replace_tags(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    body: Value,
) -> Result<Response<compute::types::ReplaceServerTagsResponseV2_26>, Error> {
    let body = servers::ReplaceServerTagsRequest::from_json_at(version, body).expect("body");
    client.replace_server_tags(id, &body).await
}

/// Tags: GET all (2.26+).
pub async fn list_tags(
    client: &ServersClient,
    id: &str,
) -> Result<Response<compute::types::ListServerTagsResponseV2_26>, Error> {
    client.list_server_tags(id, None).await
}

/// Instance actions of a server.
pub async fn list_instance_actions(
    client: &ServersClient,
    id: &str,
) -> Result<Response<instance_actions::ListInstanceActionsResponse>, Error> {
    InstanceActionsClient::new(client.service_client().clone())
        .list_instance_actions(id, None)
        .await
}

/// One instance action of a server.
pub async fn show_instance_action(
    client: &ServersClient,
    id: &str,
    request_id: &str,
) -> Result<Response<instance_actions::ShowInstanceActionResponse>, Error> {
    InstanceActionsClient::new(client.service_client().clone())
        .show_instance_action(id, request_id, None)
        .await
}

/// The host a server runs on (admin attribute).
pub async fn host_of(client: &ServersClient, id: &str) -> String {
    let shown = show_server(client, id).await.expect("show server");
    json_of(&shown)["server"]["OS-EXT-SRV-ATTR:host"]
        .as_str()
        .expect("the admin sees the host")
        .to_owned()
}

/// The services.py name of a compute host's nova-compute: `nova-compute-<n>`.
pub fn compute_service_name(host: &str) -> String {
    let index = compute_info()
        .hosts
        .iter()
        .position(|h| h == host)
        .unwrap_or_else(|| panic!("{host} is not a compute host of the cloud"));
    format!("nova-compute-{}", index + 1)
}

/// Stops or starts one service of the cloud with `scripts/services.py stop|start NAME` (with
/// this process's SQUALL_* ports).
pub fn control_service(command: &str, name: &str) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/services.py");
    let status = std::process::Command::new("python3")
        .arg(script)
        .args([command, name])
        .status()
        .expect("run scripts/services.py");
    assert!(status.success(), "services.py {command} {name}: {status}");
}

/// Starts a stopped nova-compute again when dropped, also when the test fails.
pub struct StoppedCompute(pub String);

impl StoppedCompute {
    pub fn stop(host: &str) -> Self {
        let name = compute_service_name(host);
        control_service("stop", &name);
        Self(name)
    }
}

impl Drop for StoppedCompute {
    fn drop(&mut self) {
        control_service("start", &self.0);
    }
}

/// Waits until Nova's services API says the nova-compute of `host` is `state` (`up`/`down`).
pub async fn wait_for_compute_state(host: &str, state: &str) {
    let services = compute::ServicesClient::new(
        super::service(&compute::SERVICE, ApiVersion::at(2, 53)).await,
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let listed = services.list_services(None).await.expect("list services");
        let seen = json_of(&listed)["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["binary"] == json!("nova-compute") && s["host"] == json!(host))
            .map(|s| s["state"].as_str().unwrap_or_default().to_owned());
        if seen.as_deref() == Some(state) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nova-compute on {host} did not become {state}; last seen {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Metadata: PUT one item at `version`.
pub async fn set_metadata_item(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    key: &str,
    body: Value,
) -> Result<Response<compute::types::SetServerMetadataItemResponseV2_1>, Error> {
    let body = servers::SetServerMetadataItemRequest::from_json_at(version, body).expect("body");
    client.set_server_metadata_item(id, key, &body).await
}

/// Metadata: GET one item.
pub async fn show_metadata_item(
    client: &ServersClient,
    id: &str,
    key: &str,
) -> Result<Response<compute::types::ShowServerMetadataItemResponseV2_1>, Error> {
    client.show_server_metadata_item(id, key, None).await
}

/// Tags: PUT one tag (2.26+); 201 when added, 204 when the server had it.
pub async fn add_tag(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
    tag: &str,
) -> Result<Response<squall::runtime::NoBody>, Error> {
    let body = servers::AddServerTagRequest::from_json_at(version, Value::Null).expect("body");
    client.add_server_tag(id, tag, &body).await
}

/// trigger_crash_dump (2.17+).
pub async fn trigger_crash_dump(
    client: &ServersClient,
    version: ApiVersion,
    id: &str,
) -> Result<Response<squall::runtime::NoBody>, Error> {
    let body = server_actions::TriggerCrashDumpRequest::from_json_at(
        version,
        json!({"trigger_crash_dump": null}),
    )
    .expect("body");
    ServerActionsClient::new(client.service_client().clone())
        .trigger_crash_dump(id, &body)
        .await
}
