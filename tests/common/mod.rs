//! Shared set-up for the integration tests: the real services started by
//! `python3 scripts/services.py up` (the README's test command does it).

#![allow(dead_code)]

pub mod servers;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use squall::runtime::{
    ApiVersion, PasswordAuth, RestClient, Secret, ServiceClient, ServiceMeta, Session,
};

const HOW_TO_START: &str = "the real services are not running: start them with \
    `python3 scripts/services.py up` (or run the whole suite with `./scripts/test`)";

/// What `scripts/services.py up` wrote to `target/squall-services/cloud.json`.
#[derive(Debug, Deserialize)]
pub struct Cloud {
    pub auth_url: String,
    pub username: String,
    pub password: String,
    pub project_name: String,
    pub user_domain_name: String,
    pub project_domain_name: String,
    pub region: String,
    pub endpoints: BTreeMap<String, String>,
}

fn cloud_json() -> PathBuf {
    std::env::var_os("SQUALL_CLOUD_JSON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/squall-services/cloud.json")
        })
}

/// Where cloud.json is.
pub fn cloud_json_path() -> PathBuf {
    cloud_json()
}

/// The local cloud; panics with instructions when the services were never started.
pub fn cloud() -> Cloud {
    try_cloud().unwrap_or_else(|e| panic!("{e}"))
}

/// The local cloud, or the instructions to start it.
fn try_cloud() -> Result<Cloud, String> {
    let path = cloud_json();
    std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str(&text).map_err(|e| e.to_string()))
        .map_err(|e| format!("{HOW_TO_START} ({}: {e})", path.display()))
}

/// A Keystone session (token + catalog) for the admin user; panics with instructions when
/// Keystone does not answer.
pub async fn session() -> (Arc<RestClient>, Session) {
    let cloud = cloud();
    let auth = PasswordAuth {
        auth_url: cloud.auth_url.clone(),
        username: cloud.username.clone(),
        password: Secret::new(cloud.password.clone()),
        user_domain_name: cloud.user_domain_name.clone(),
        project_name: cloud.project_name.clone(),
        project_domain_name: cloud.project_domain_name.clone(),
    };
    let rest = RestClient::new().expect("http client");
    let session = auth
        .authenticate(rest.http())
        .await
        .unwrap_or_else(|e| panic!("{HOW_TO_START} (keystone: {e})"));
    (Arc::new(rest.with_token(session.token.clone())), session)
}

/// A service client found through the real Keystone catalog, at `version`.
pub async fn service(meta: &'static ServiceMeta, version: ApiVersion) -> ServiceClient {
    let (rest, session) = session().await;
    let endpoint = session
        .catalog
        .endpoint(meta.catalog_type, "public", Some(&cloud().region))
        .unwrap_or_else(|e| panic!("{HOW_TO_START} (catalog: {e})"))
        .to_owned();
    ServiceClient::new(rest, &endpoint, meta).with_microversion(version)
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// A connection for `squall-testing` suites: `ServiceClients` for the admin user of the real
/// cloud. Errors (instead of panicking) when the services are down, so every test reports the
/// instructions.
pub async fn connection() -> Result<squall_testing::Connection, squall_testing::TestError> {
    let cloud = try_cloud()?;
    let credentials = squall::runtime::Credentials::password(
        &cloud.username,
        &cloud.user_domain_name,
        Secret::new(cloud.password.clone()),
        &cloud.project_name,
        &cloud.project_domain_name,
    );
    let clients = squall::runtime::ServiceClients::new(credentials, &cloud.auth_url)
        .region(cloud.region.clone())
        .build()?;
    clients
        .authenticate()
        .await
        .map_err(|e| format!("{HOW_TO_START} (keystone: {e})"))?;
    Ok(squall_testing::Connection::from_clients(clients))
}

/// `ServiceClients` for the admin user of the real cloud, in RegionOne.
pub fn admin_service_clients() -> squall::runtime::ServiceClients {
    let cloud = cloud();
    let credentials = squall::runtime::Credentials::password(
        &cloud.username,
        &cloud.user_domain_name,
        Secret::new(cloud.password.clone()),
        &cloud.project_name,
        &cloud.project_domain_name,
    );
    squall::runtime::ServiceClients::new(credentials, &cloud.auth_url)
        .region(cloud.region.clone())
        .build()
        .expect("ServiceClients")
}
