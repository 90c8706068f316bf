//! Shared set-up for the whitebox integration tests: the real components started by
//! `python3 scripts/whitebox.py up` (the test command `./scripts/test` does it) and the real
//! OpenStack services of `python3 scripts/services.py up`.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use squall_runtime::{
    ApiVersion, PasswordAuth, RestClient, Secret, ServiceClient, VersionedRequest as _,
};
use squall_whitebox::{DbConfig, Inventory, Whitebox};

const HOW_TO_START: &str = "the whitebox components are not running: start them with \
    `python3 scripts/services.py up && python3 scripts/whitebox.py up` (or run `./scripts/test`)";

/// What `scripts/whitebox.py up` wrote to `target/squall-whitebox/env.json`.
#[derive(Debug, Deserialize)]
pub struct Env {
    pub nodes_file: PathBuf,
    pub compute_host: String,
    pub ssh: SshEnv,
    pub libvirt_uri: String,
    pub db: DbEnv,
    pub compute: ComputeEnv,
}

#[derive(Debug, Deserialize)]
pub struct SshEnv {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub key: PathBuf,
    pub known_hosts: PathBuf,
    pub wrong_known_hosts: PathBuf,
    pub host_public_key: String,
}

#[derive(Debug, Deserialize)]
pub struct DbEnv {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub database: String,
    pub api_database: String,
}

#[derive(Debug, Deserialize)]
pub struct ComputeEnv {
    pub config_path: String,
    pub pid_file: String,
    pub log: String,
}

fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative)
}

/// The environment; panics with instructions when the components were never started.
pub fn env() -> Env {
    let path = std::env::var_os("SQUALL_WHITEBOX_ENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/squall-whitebox/env.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{HOW_TO_START} ({}: {e})", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{HOW_TO_START} ({}: {e})", path.display()))
}

pub fn inventory() -> Inventory {
    Inventory::from_file(env().nodes_file).expect("the inventory written by whitebox.py")
}

pub fn whitebox() -> Whitebox {
    Whitebox::new(inventory()).expect("whitebox clients")
}

pub fn db_config() -> DbConfig {
    let db = env().db;
    DbConfig {
        host: db.host,
        port: db.port,
        user: db.user,
        password: db.password,
        database: db.database,
    }
}

#[derive(Debug, Deserialize)]
struct Cloud {
    auth_url: String,
    username: String,
    password: String,
    project_name: String,
    user_domain_name: String,
    project_domain_name: String,
    region: String,
}

/// The compute service client of the local cloud (admin), at `version`.
pub async fn compute(version: ApiVersion) -> ServiceClient {
    let path = std::env::var_os("SQUALL_CLOUD_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/squall-services/cloud.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{HOW_TO_START} ({}: {e})", path.display()));
    let cloud: Cloud = serde_json::from_str(&text).expect("cloud.json");
    let auth = PasswordAuth {
        auth_url: cloud.auth_url,
        username: cloud.username,
        password: Secret::new(cloud.password),
        user_domain_name: cloud.user_domain_name,
        project_name: cloud.project_name,
        project_domain_name: cloud.project_domain_name,
    };
    let rest = RestClient::new().expect("http client");
    let session = auth
        .authenticate(rest.http())
        .await
        .unwrap_or_else(|e| panic!("{HOW_TO_START} (keystone: {e})"));
    let endpoint = session
        .catalog
        .endpoint("compute", "public", Some(&cloud.region))
        .expect("compute endpoint")
        .to_owned();
    let rest = Arc::new(rest.with_token(session.token.clone()));
    ServiceClient::new(rest, &endpoint, &squall_clients::compute::SERVICE)
        .with_microversion(version)
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A server booted on the real cloud for a whitebox test; deleted when dropped (also when the
/// test fails). Its name starts with `squall-test`, which the suite's final check looks for.
pub struct BootedServer {
    pub id: String,
    armed: bool,
}

fn cloud_value() -> serde_json::Value {
    let path = std::env::var_os("SQUALL_CLOUD_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("target/squall-services/cloud.json"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("cloud.json")).expect("JSON")
}

async fn state(
    client: &squall_clients::compute::ServersClient,
    id: &str,
) -> Result<squall_runtime::waiters::ServerState, squall_runtime::Error> {
    let shown = client.show_server(id, None).await?;
    let doc: serde_json::Value = serde_json::from_slice(&shown.raw).unwrap_or_default();
    Ok(squall_runtime::waiters::ServerState::from_json(&doc))
}

fn waiter() -> squall_runtime::waiters::Waiter {
    squall_runtime::waiters::Waiter::new(
        std::time::Duration::from_millis(500),
        std::time::Duration::from_secs(120),
    )
}

/// Waits (up to two minutes) until every nova-compute service is enabled and up.
async fn computes_up(client: &squall_clients::compute::ServersClient) {
    let services = squall_clients::compute::ServicesClient::new(client.service_client().clone());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let listed = services.list_services(None).await.expect("list services");
        let doc: serde_json::Value = serde_json::from_slice(&listed.raw).unwrap();
        let computes: Vec<&serde_json::Value> = doc["services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|s| s["binary"] == "nova-compute")
            .collect();
        if !computes.is_empty() && computes.iter().all(|s| s["state"] == "up") {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nova-compute not up: {computes:?}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

impl BootedServer {
    /// Boots the cloud's tiny image and flavor without a network (2.37+) and waits for ACTIVE.
    pub async fn boot(
        client: &squall_clients::compute::ServersClient,
        version: ApiVersion,
    ) -> Self {
        // A test before this one may have restarted nova-compute (config edits, the crash
        // restore): boot only once every compute service reports up again.
        computes_up(client).await;
        let compute = cloud_value()["compute"].clone();
        let body = serde_json::json!({"server": {
            "name": unique("squall-test-wb"), "imageRef": compute["image_ref"],
            "flavorRef": compute["flavor_ref"], "networks": compute["networks"]}});
        let body =
            squall_clients::compute::servers::CreateServerRequest::from_json_at(version, body)
                .expect("create body");
        // Right after a nova-compute restart the scheduler may still place a server on the
        // restarting host, which then fails the build (ERROR); that is the fixture's problem,
        // not the subject's, so a second boot is allowed. Any other failure stands.
        let mut attempts = 0;
        loop {
            attempts += 1;
            let created = client.create_server(&body).await.expect("create server");
            let doc: serde_json::Value = serde_json::from_slice(&created.raw).unwrap();
            let server = Self {
                id: doc["server"]["id"].as_str().unwrap().to_owned(),
                armed: true,
            };
            match waiter()
                .wait_for_server_status_idle(&server.id, "ACTIVE", || state(client, &server.id))
                .await
            {
                Ok(_) => return server,
                Err(e) if attempts < 2 && e.to_string().contains("ERROR") => {
                    eprintln!("boot {attempts} failed ({e}); booting again");
                    server.delete(client).await;
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    computes_up(client).await;
                }
                Err(e) => panic!("server boots: {e}"),
            }
        }
    }

    /// Deletes the server and waits until it is gone.
    pub async fn delete(mut self, client: &squall_clients::compute::ServersClient) {
        self.armed = false;
        client.delete_server(&self.id).await.expect("delete server");
        waiter()
            .wait_for_server_termination(&self.id, || state(client, &self.id))
            .await
            .expect("server goes away");
    }
}

impl Drop for BootedServer {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let id = self.id.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let client = squall_clients::compute::ServersClient::new(
                    compute(ApiVersion::at(2, 1)).await,
                );
                let _ = client.delete_server(&id).await;
                let _ = waiter()
                    .wait_for_server_termination(&id, || state(&client, &id))
                    .await;
            });
        })
        .join();
    }
}
