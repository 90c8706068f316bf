//! ServiceClients against the real Keystone, whose catalog points at the real Placement, Nova
//! API, Ironic and Glance (issue 5). Nova, Placement, Ironic and Keystone are squall's bundled
//! modules; Glance is reached through the example plugin `squall-plugin-image` (module
//! `image`), a service squall does not bundle. `scripts/services.py up` also provides RegionTwo
//! endpoints, an application credential, system/domain role assignments, a Keystone with
//! short-lived tokens (`short_auth_url`) and a TLS proxy with its own CA in front of Placement.
//!
//! The token-renewal test uses the short-token Keystone, a separate process on the same
//! database and keys: no other test shares its short-lived tokens, so it runs in parallel
//! with the rest.

mod common;

use squall::prelude::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use squall::clients::baremetal::NodesClient;
use squall::clients::baremetal::nodes::{CreateNodeResponse, ShowNodeResponse};
use squall::clients::compute::KeypairsClient;
use squall::clients::placement::ResourceProvidersClient;
use squall::runtime::auth::AuthError;
use squall::runtime::credentials::DomainRef;
use squall::runtime::registry::ServiceModule;
use squall::runtime::{
    ApiVersion, CloudConfig, Credentials, Error, HttpErrorKind, Progress, Registry, RegistryError,
    RestClient, Scope, Secret, ServiceClients, WaitError,
};
use squall::{ClientsExt, available_modules};
use squall_plugin_image::image::ImagesClient;
use squall_plugin_image::image::types::{
    CreateImageRequestV2_0, ImageStatusV2_0, ImageV2_0, ListImagesQueryV2_0,
    ListImagesQueryVisibilityV2_0,
};

/// `cloud.json` of the running services (`$SQUALL_CLOUD_JSON`, else this checkout's).
fn cloud_json_path() -> std::path::PathBuf {
    std::env::var_os("SQUALL_CLOUD_JSON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("target/squall-services/cloud.json")
        })
}

fn cloud_json() -> Value {
    let _ = common::cloud(); // panics with instructions when the services are not up
    let path = cloud_json_path();
    serde_json::from_str(&std::fs::read_to_string(path).expect("cloud.json")).expect("json")
}

fn s(v: &Value, pointer: &str) -> String {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("cloud.json lacks {pointer}: rerun `scripts/services.py up`"))
        .to_owned()
}

fn admin_credentials() -> Credentials {
    let c = common::cloud();
    Credentials::password(
        &c.username,
        &c.user_domain_name,
        Secret::new(c.password),
        &c.project_name,
        &c.project_domain_name,
    )
}

fn admin_clients() -> ServiceClients {
    ServiceClients::new(admin_credentials(), &common::cloud().auth_url)
        .region(common::cloud().region)
        .build()
        .expect("clients")
}

fn ensure_plugin() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another test of this binary may register it first; either way it is registered.
        let _ = squall_plugin_image::register();
    });
}

/// Calls Nova, Placement, Ironic, Keystone (bundled modules) and Glance (through the plugin)
/// with `clients`; Glance must list the cloud's image.
async fn reach_all_services(clients: &ServiceClients) {
    ensure_plugin();
    let keypairs = clients.compute().keypairs().await.expect("compute client");
    let listed = keypairs.list_keypairs(None).await.expect("nova answers");
    assert_eq!(listed.status, 200);
    let providers = clients
        .placement()
        .resource_providers()
        .await
        .expect("placement client");
    let listed = providers
        .list_resource_providers(None)
        .await
        .expect("placement answers");
    assert_eq!(listed.status, 200);
    let nodes = clients.baremetal().nodes().await.expect("ironic client");
    let listed = nodes.list_nodes(None).await.expect("ironic answers");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.version, Some("1.1".parse().unwrap()));
    let regions = clients.identity().regions().await.expect("keystone client");
    let listed = regions.list_regions(None).await.expect("keystone answers");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.version, None, "Keystone has no microversions");
    let body = listed.body;
    assert!(
        body.regions
            .iter()
            .any(|r| r.id.as_deref() == Some(common::cloud().region.as_str())),
        "{body:?}"
    );
    let images = clients
        .module("image")
        .expect("plugin module")
        .client_of::<ImagesClient>()
        .await
        .expect("glance client");
    let image_ref = s(&cloud_json(), "/compute/image_ref");
    let query = ListImagesQueryV2_0 {
        name: Some(s(&cloud_json(), "/compute/image_name")),
        ..Default::default()
    };
    let listed = images
        .list_images(Some(&query.into()))
        .await
        .expect("glance answers");
    assert_eq!(listed.status, 200);
    assert_eq!(listed.version, None, "Glance has no microversions");
    let ids: Vec<_> = listed.body.images.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [image_ref.as_str()]);
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn clouds_yaml_reaches_all_services() {
    // `scripts/services.py up` writes clouds.yaml beside cloud.json.
    let _ = common::cloud();
    let path = cloud_json_path().with_file_name("clouds.yaml");
    let config = CloudConfig::from_files(&path, None, "squall").expect("clouds.yaml");
    assert_eq!(config.region.as_deref(), Some("RegionOne"));
    let clients = config.builder().expect("builder").build().expect("clients");
    reach_all_services(&clients).await;
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn secure_yaml_holds_the_password_and_per_service_settings_apply() {
    let cloud = common::cloud();
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    let secure = dir.path().join("secure.yaml");
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  c:\n    auth:\n      auth_url: {}\n      username: {}\n      user_domain_name: Default\n      project_name: admin\n      project_domain_name: Default\n    region_name: RegionOne\n    compute_default_microversion: '2.2'\n    placement_region_name: RegionTwo\n",
            cloud.auth_url, cloud.username
        ),
    )
    .unwrap();
    std::fs::write(
        &secure,
        format!(
            "clouds:\n  c:\n    auth:\n      password: {}\n",
            cloud.password
        ),
    )
    .unwrap();
    let without = CloudConfig::from_files(&clouds, None, "c").unwrap();
    let err = without.builder().unwrap_err().to_string();
    assert!(err.contains("password"), "{err}");
    let clients = CloudConfig::from_files(&clouds, Some(&secure), "c")
        .unwrap()
        .builder()
        .unwrap()
        .build()
        .unwrap();
    let keypairs = clients.compute().keypairs().await.unwrap();
    assert_eq!(keypairs.microversion(), ApiVersion::at(2, 2));
    let listed = keypairs.list_keypairs(None).await.unwrap();
    assert_eq!(listed.version, Some("2.2".parse().unwrap()));
    let placement = clients.placement().base_url().await.unwrap();
    assert_eq!(
        placement,
        s(&cloud_json(), "/regions/RegionTwo/placement/public")
    );
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn environment_variables_reach_all_services() {
    let c = common::cloud();
    let vars = [
        ("OS_AUTH_URL", c.auth_url.as_str()),
        ("OS_USERNAME", &c.username),
        ("OS_PASSWORD", &c.password),
        ("OS_PROJECT_NAME", &c.project_name),
        ("OS_USER_DOMAIN_NAME", &c.user_domain_name),
        ("OS_PROJECT_DOMAIN_NAME", &c.project_domain_name),
        ("OS_REGION_NAME", &c.region),
        ("OS_INTERFACE", "public"),
        ("OS_IDENTITY_API_VERSION", "3"),
        ("OS_COMPUTE_API_VERSION", "2.1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    let config = CloudConfig::from_vars(vars).expect("env config");
    let clients = config.builder().unwrap().build().unwrap();
    reach_all_services(&clients).await;
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn tempest_conf_reaches_nova_with_per_service_region() {
    let c = common::cloud();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tempest.conf");
    std::fs::write(
        &path,
        format!(
            "[auth]\nadmin_username = {}\nadmin_password = {}\nadmin_project_name = {}\nadmin_domain_name = Default\n\n[identity]\nuri_v3 = {}\nregion = RegionOne\n\n[compute]\ncatalog_type = compute\nendpoint_type = publicURL\nregion = RegionTwo\n",
            c.username, c.password, c.project_name, c.auth_url
        ),
    )
    .unwrap();
    let clients = CloudConfig::from_tempest_conf(&path)
        .unwrap()
        .builder()
        .unwrap()
        .build()
        .unwrap();
    let compute = clients.compute();
    assert_eq!(
        compute.base_url().await.unwrap(),
        s(&cloud_json(), "/regions/RegionTwo/compute/public")
    );
    let listed = compute
        .keypairs()
        .await
        .unwrap()
        .list_keypairs(None)
        .await
        .unwrap();
    assert_eq!(listed.status, 200);
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn region_and_interface_selection_and_overrides_do_not_stick() {
    let cloud = cloud_json();
    let clients = admin_clients();
    let one = clients.compute().base_url().await.unwrap();
    assert_eq!(one, s(&cloud, "/endpoints/compute"));
    let two = clients.compute().with_region("RegionTwo");
    assert_eq!(
        two.base_url().await.unwrap(),
        s(&cloud, "/regions/RegionTwo/compute/public")
    );
    let two_internal = two.clone().with_interface("internal");
    assert_eq!(
        two_internal.base_url().await.unwrap(),
        s(&cloud, "/regions/RegionTwo/compute/internal")
    );
    // The override applied to those copies only: the next factory is RegionOne again.
    assert_eq!(clients.compute().base_url().await.unwrap(), one);
    assert_eq!(
        two.base_url().await.unwrap(),
        s(&cloud, "/regions/RegionTwo/compute/public")
    );
    // Calls go through RegionTwo's endpoint.
    let keypairs = two.keypairs().await.unwrap();
    assert!(keypairs.service_client().endpoint().contains("localhost"));
    assert_eq!(keypairs.list_keypairs(None).await.unwrap().status, 200);
    // A region without the service is an error that names it.
    let err = clients
        .compute()
        .with_region("RegionNine")
        .keypairs()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("RegionNine"), "{err}");
    // Tempest's api_version filter and an endpoint override.
    let v2 = clients.compute().with_api_version("v2");
    assert!(v2.base_url().await.unwrap().ends_with("/v2"));
    let overridden = clients
        .placement()
        .with_endpoint_override(s(&cloud, "/endpoints/placement"));
    assert_eq!(
        overridden.base_url().await.unwrap(),
        s(&cloud, "/endpoints/placement")
    );
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn token_renewal_outlives_a_short_token() {
    let cloud = cloud_json();
    let lifetime = cloud["short_token_expiration"].as_u64().unwrap_or(20);
    let clients = ServiceClients::new(admin_credentials(), &s(&cloud, "/short_auth_url"))
        .token_renewal_margin(Duration::from_secs(lifetime / 4))
        .build()
        .unwrap();
    let provider = clients.auth_provider().clone();
    let keypairs = clients.compute().keypairs().await.unwrap();
    keypairs.list_keypairs(None).await.unwrap();
    let first = provider.token().await.unwrap();
    assert_eq!(provider.token_requests(), 1);
    // Sleep past the token's own expiry.
    tokio::time::sleep(Duration::from_secs(lifetime + 2)).await;
    let expired = RestClient::new().unwrap().with_token(first.clone());
    let stale = squall::runtime::ServiceClient::new(
        Arc::new(expired),
        keypairs.service_client().endpoint(),
        &squall::clients::compute::SERVICE,
    );
    let err = KeypairsClient::new(stale)
        .list_keypairs(None)
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Unauthorized), "{err}");
    // The same client keeps working: the provider renewed the token before using it.
    let listed = keypairs.list_keypairs(None).await.unwrap();
    assert_eq!(listed.status, 200);
    assert_eq!(provider.token_requests(), 2);
    assert_ne!(provider.token().await.unwrap(), first);
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn a_revoked_token_is_replaced_once_after_401() {
    let cloud = common::cloud();
    let clients = admin_clients();
    let provider = clients.auth_provider().clone();
    let providers = clients.placement().resource_providers().await.unwrap();
    providers.list_resource_providers(None).await.unwrap();
    let token = provider.token().await.unwrap();
    assert_eq!(provider.token_requests(), 1);
    // Revoke it in Keystone behind the provider's back.
    let revoked = reqwest::Client::new()
        .delete(format!("{}/auth/tokens", cloud.auth_url))
        .header("X-Auth-Token", token.expose())
        .header("X-Subject-Token", token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 204);
    let listed = providers.list_resource_providers(None).await.unwrap();
    assert_eq!(listed.status, 200);
    assert_eq!(
        provider.token_requests(),
        2,
        "exactly one re-authentication"
    );
    assert_ne!(provider.token().await.unwrap(), token);
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn wrong_password_is_unauthorized_without_retries() {
    let c = common::cloud();
    let creds = Credentials::password(
        &c.username,
        &c.user_domain_name,
        Secret::new("not-the-password"),
        &c.project_name,
        &c.project_domain_name,
    );
    let clients = ServiceClients::new(creds, &c.auth_url).build().unwrap();
    let err = clients.compute().keypairs().await.unwrap_err();
    let Error::Auth(auth) = &err else {
        panic!("expected an auth error, got {err}");
    };
    assert_eq!(auth.http_kind(), Some(HttpErrorKind::Unauthorized), "{err}");
    assert!(matches!(auth, AuthError::Rejected { status: 401, .. }));
    assert_eq!(clients.auth_provider().token_requests(), 1);
    assert!(!err.to_string().contains("not-the-password"));
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn application_credential_auth() {
    let cloud = cloud_json();
    let creds = Credentials::builder()
        .application_credential_id(s(&cloud, "/application_credential/id"))
        .application_credential_secret(Secret::new(s(&cloud, "/application_credential/secret")))
        .build()
        .unwrap();
    let clients = ServiceClients::new(creds, &s(&cloud, "/auth_url"))
        .build()
        .unwrap();
    reach_all_services(&clients).await;
}

/// Keystone's own view of a token (`GET /v3/auth/tokens`).
async fn inspect(token: &Secret) -> Value {
    let cloud = common::cloud();
    let (rest, _) = common::session().await;
    let admin = rest.token().await.unwrap().unwrap();
    reqwest::Client::new()
        .get(format!("{}/auth/tokens", cloud.auth_url))
        .header("X-Auth-Token", admin.expose())
        .header("X-Subject-Token", token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn system_scope_and_domain_scope() {
    let c = common::cloud();
    let system = ServiceClients::new(admin_credentials(), &c.auth_url)
        .scope(Scope::System)
        .build()
        .unwrap();
    let session = system.authenticate().await.unwrap();
    let body = inspect(&session.token).await;
    assert_eq!(body["token"]["system"], json!({"all": true}), "{body}");
    assert!(body["token"].get("project").is_none());

    let domain = ServiceClients::new(admin_credentials(), &c.auth_url)
        .scope(Scope::Domain(DomainRef::Name("Default".into())))
        .build()
        .unwrap();
    let session = domain.authenticate().await.unwrap();
    let body = inspect(&session.token).await;
    assert_eq!(body["token"]["domain"]["name"], "Default", "{body}");
    // A system token is refused by Nova's project-scoped policy: the scope really changed.
    let err = system
        .compute()
        .keypairs()
        .await
        .unwrap()
        .list_keypairs(None)
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Forbidden), "{err}");
}

#[test]
fn plugin_registration_conflicts_name_both_parties() {
    let mut registry = squall::factories::builtin_registry();
    let compute = &squall::clients::compute::SERVICE;
    let image = &squall_plugin_image::image::SERVICE;
    assert_eq!(
        registry.available_modules(),
        ["baremetal", "compute", "identity", "placement"]
    );

    // 1. A service_version held by a bundled module, then by another plugin.
    let err = registry
        .register_plugin(
            "thief",
            vec![ServiceModule::new("nova2", "compute", compute)],
        )
        .unwrap_err();
    assert!(matches!(err, RegistryError::ServiceVersionTaken { .. }));
    let text = err.to_string();
    assert!(
        text.contains("\"thief\"") && text.contains("squall's module \"compute\""),
        "{text}"
    );
    registry
        .register_plugin(
            "image-plugin",
            vec![ServiceModule::new("image", "image.v2", image)],
        )
        .unwrap();
    let err = registry
        .register_plugin(
            "other",
            vec![ServiceModule::new("glance", "image.v2", image)],
        )
        .unwrap_err();
    assert!(matches!(err, RegistryError::ServiceVersionTaken { .. }));
    assert!(
        err.to_string().contains("\"other\"")
            && err
                .to_string()
                .contains("module \"image\" of plugin \"image-plugin\""),
        "{err}"
    );

    // 2. The same plugin twice: both registrations are named.
    let err = registry
        .register_plugin(
            "image-plugin",
            vec![ServiceModule::new("image2", "image.v3", image)],
        )
        .unwrap_err();
    assert!(matches!(err, RegistryError::PluginRegistered { .. }));
    let text = err.to_string();
    assert!(
        text.contains("\"image-plugin\"") && text.contains("image.v2") && text.contains("image.v3"),
        "{text}"
    );

    // 3. A module name in use: bundled ones (what the old Ironic plugin example, module
    // `baremetal`, and the old Keystone plugin example, module `identity`, now run into since
    // squall bundles both), then a plugin's.
    for (plugin, name, holder) in [
        ("late", "placement", "squall's module \"placement\""),
        (
            "old-ironic-plugin",
            "baremetal",
            "squall's module \"baremetal\"",
        ),
        (
            "old-identity-plugin",
            "identity",
            "squall's module \"identity\"",
        ),
        (
            "second-image",
            "image",
            "module \"image\" of plugin \"image-plugin\"",
        ),
    ] {
        let err = registry
            .register_plugin(
                plugin,
                vec![ServiceModule::new(name, &format!("{name}.v9"), image)],
            )
            .unwrap_err();
        assert!(
            matches!(err, RegistryError::ModuleNameTaken { .. }),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!("\"{plugin}\"")) && text.contains(holder),
            "{text}"
        );
    }
    // The old example plugin's exact registration (module `identity`, service_version
    // `identity.v3`, squall's own Keystone service) is refused on the name alone.
    let err = registry
        .register_plugin(
            "squall-plugin-identity",
            vec![ServiceModule::new(
                "identity",
                "identity.v3",
                &squall::clients::identity::SERVICE,
            )],
        )
        .unwrap_err();
    assert!(
        matches!(err, RegistryError::ModuleNameTaken { .. }),
        "{err}"
    );
    assert!(
        err.to_string().contains("squall's module \"identity\""),
        "{err}"
    );
    // Refused registrations left nothing behind.
    assert_eq!(
        registry.available_modules(),
        ["baremetal", "compute", "identity", "placement", "image.v2"]
    );

    // The process-wide registry: the example plugin, registered once, then refused.
    ensure_plugin();
    let err = squall_plugin_image::register().unwrap_err();
    assert!(matches!(err, RegistryError::PluginRegistered { .. }));
    assert!(
        err.to_string().contains(squall_plugin_image::PLUGIN),
        "{err}"
    );
    let modules = available_modules();
    for m in ["baremetal", "compute", "identity", "placement", "image.v2"] {
        assert!(
            modules.iter().any(|x| x == m),
            "{m} missing from {modules:?}"
        );
    }
    let empty = Registry::new();
    assert!(empty.module("compute").is_none());
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn tls_endpoint_needs_its_ca() {
    let cloud = cloud_json();
    let url = s(&cloud, "/tls/url");
    let ca = s(&cloud, "/tls/ca");
    let build = |with_ca: bool| {
        let mut b = ServiceClients::new(admin_credentials(), &s(&cloud, "/auth_url"));
        if with_ca {
            b = b.ca_bundle(&ca);
        }
        b.build().unwrap()
    };
    let without = build(false)
        .placement()
        .with_endpoint_override(&url)
        .resource_providers()
        .await
        .unwrap();
    let err = without.list_resource_providers(None).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err}");
    let chain = format!("{:?}", std::error::Error::source(&err));
    assert!(chain.to_lowercase().contains("certificate"), "{chain}");

    let with = build(true)
        .placement()
        .with_endpoint_override(&url)
        .resource_providers()
        .await
        .unwrap();
    let listed = with.list_resource_providers(None).await.unwrap();
    assert_eq!(listed.status, 200);
    assert!(with.service_client().endpoint().starts_with("https://"));
    // A bad CA path is a configuration error that names the key.
    let err = ServiceClients::new(admin_credentials(), &s(&cloud, "/auth_url"))
        .ca_bundle("/nonexistent/ca.pem")
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("cacert:"), "{err}");
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn no_secret_in_trace_output() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let c = common::cloud();
    let clients = ServiceClients::new(admin_credentials(), &c.auth_url)
        .trace_requests("*")
        .build()
        .unwrap();
    let keypairs = clients.compute().keypairs().await.unwrap();
    let name = common::unique("trace");
    let body: squall::clients::compute::types::CreateKeypairRequestV2_1 =
        squall::runtime::decode::from_value(&json!({"keypair": {"name": name}})).unwrap();
    let created = keypairs.create_keypair(&body.into()).await.unwrap();
    let raw: Value = serde_json::from_slice(&created.raw).unwrap();
    let private_key = raw["keypair"]["private_key"].as_str().unwrap().to_owned();
    keypairs.delete_keypair(&name, None).await.unwrap();
    let token = clients.auth_provider().token().await.unwrap();

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains("squall::trace"), "nothing traced:\n{text}");
    assert!(text.contains("compute.create_keypair") && text.contains(&name));
    for (what, secret) in [
        ("password", c.password.as_str()),
        ("token", token.expose()),
        (
            "private key",
            private_key.lines().nth(1).unwrap_or(&private_key),
        ),
    ] {
        assert!(
            !text.contains(secret),
            "the {what} leaked into the logs:\n{text}"
        );
    }
    assert!(text.contains("***"));
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn waiters_for_deletion_and_activation() {
    let clients = ServiceClients::new(admin_credentials(), &common::cloud().auth_url)
        .build_interval(Duration::from_millis(200))
        .build_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let waiter = clients.waiter();

    // Deletion: a Placement resource provider.
    let providers: ResourceProvidersClient =
        clients.placement().resource_providers().await.unwrap();
    let uuid = format!("{:032x}", std::process::id() as u128 * 7919 + 17);
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &uuid[..8],
        &uuid[8..12],
        &uuid[12..16],
        &uuid[16..20],
        &uuid[20..]
    );
    let req: squall::clients::placement::types::CreateResourceProviderRequestV1_0 =
        squall::runtime::decode::from_value(&json!({"name": common::unique("wait"), "uuid": uuid}))
            .unwrap();
    providers
        .create_resource_provider(&req.into())
        .await
        .unwrap();
    providers.delete_resource_provider(&uuid).await.unwrap();
    waiter
        .wait_for_resource_deletion("resource provider", || {
            providers.show_resource_provider(&uuid)
        })
        .await
        .expect("deleted");

    // Activation: an Ironic node powered on by the conductor. The bundled nodes spec has no
    // power-state operation, so the request is sent by hand (Ironic runs noauth here).
    let nodes = clients.baremetal().nodes().await.unwrap();
    let (id, _) = create_node(&nodes).await;
    let power = reqwest::Client::new()
        .put(format!(
            "{}/v1/nodes/{id}/states/power",
            nodes.service_client().endpoint().trim_end_matches('/')
        ))
        .json(&json!({"target": "power on"}))
        .send()
        .await
        .unwrap();
    assert_eq!(power.status().as_u16(), 202);
    let took = waiter
        .wait_for_resource_activation("node", || async {
            let shown = nodes.show_node(&id).await?;
            let power_state = match shown.body {
                ShowNodeResponse::V1_1(node) => node.power_state,
                other => panic!("asked for no microversion, answered {other:?}"),
            };
            Ok(match power_state.as_deref() {
                Some("power on") => Progress::Done,
                Some("error") => Progress::Failed("error".into()),
                other => Progress::Waiting(format!("{other:?}")),
            })
        })
        .await
        .expect("powered on");
    assert!(took < Duration::from_secs(30));

    // A resource that never goes away: the timeout reports the time elapsed.
    let short =
        squall::runtime::Waiter::new(Duration::from_millis(100), Duration::from_millis(500));
    let err = short
        .wait_for_resource_deletion("node", || nodes.show_node(&id))
        .await
        .unwrap_err();
    assert!(matches!(err, WaitError::Timeout { .. }));
    assert!(err.elapsed() >= Duration::from_millis(500));
    assert!(err.to_string().contains("elapsed"), "{err}");
    nodes.delete_node(&id).await.unwrap();
}

/// Enrolls a fake-hardware node at Ironic's default microversion; returns its UUID and the
/// version Ironic answered.
async fn create_node(nodes: &NodesClient) -> (String, Option<squall::runtime::Microversion>) {
    let body: squall::clients::baremetal::types::CreateNodeRequestV1_1 =
        squall::runtime::decode::from_value(&json!({"driver": "fake-hardware"})).unwrap();
    let created = nodes.create_node(&body.into()).await.unwrap();
    assert_eq!(created.status, 201);
    match created.body {
        CreateNodeResponse::V1_1(node) => (node.uuid, created.version),
        other => panic!("asked for no microversion, answered {other:?}"),
    }
}

#[tokio::test]
#[ignore = "live: needs Keystone, Nova, Placement and Ironic (scripts/services.py up)"]
async fn baremetal_accessor_reaches_bundled_ironic() {
    let cloud = cloud_json();
    let clients = admin_clients();
    let baremetal = clients.baremetal();
    assert_eq!(
        baremetal.base_url().await.unwrap(),
        s(&cloud, "/endpoints/baremetal")
    );
    assert!(std::ptr::eq(
        baremetal.service(),
        &squall::clients::baremetal::SERVICE
    ));

    // The default: no microversion asked, Ironic answers its minimum.
    let nodes = baremetal.nodes().await.unwrap();
    let (id, version) = create_node(&nodes).await;
    assert_eq!(version, Some("1.1".parse().unwrap()));
    let shown = nodes.show_node(&id).await.unwrap();
    assert!(matches!(&shown.body, ShowNodeResponse::V1_1(node) if node.uuid == id));

    // A microversion on the accessor's copy applies to what it builds, not to the next one.
    let newer = clients
        .baremetal()
        .with_microversion(ApiVersion::at(1, 46))
        .nodes()
        .await
        .unwrap();
    let listed = newer.list_nodes(None).await.unwrap();
    assert_eq!(listed.version, Some("1.46".parse().unwrap()));
    let shown = newer.show_node(&id).await.unwrap();
    assert_eq!(shown.version, Some("1.46".parse().unwrap()));
    assert!(!matches!(shown.body, ShowNodeResponse::V1_1(_)));
    assert_eq!(
        clients.baremetal().nodes().await.unwrap().microversion(),
        ApiVersion::Null
    );

    // Region selection works for Ironic as for the others.
    assert_eq!(
        clients
            .baremetal()
            .with_region("RegionTwo")
            .base_url()
            .await
            .unwrap(),
        s(&cloud, "/regions/RegionTwo/baremetal/public")
    );
    let versions = clients.baremetal().versions().await.unwrap();
    assert_eq!(versions.list_versions().await.unwrap().status, 200);

    nodes.delete_node(&id).await.unwrap();
    let err = nodes.show_node(&id).await.unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::NotFound), "{err}");
}

/// Creates an image record (no data) named `name` with `tags`; returns it as Glance answered.
async fn create_image(images: &ImagesClient, name: &str, tags: &[&str]) -> ImageV2_0 {
    let body = CreateImageRequestV2_0 {
        name: Some(name.to_owned()),
        tags: Some(tags.iter().map(|t| (*t).to_owned()).collect()),
        min_ram: Some(64),
        ..Default::default()
    };
    let created = images.create_image(&body.into()).await.unwrap();
    assert_eq!(created.status, 201);
    assert_eq!(created.version, None, "Glance has no microversions");
    let location = created.header("location").unwrap_or_default().to_owned();
    let image = created.body;
    assert!(
        location.ends_with(&format!("/v2/images/{}", image.id)),
        "{location}"
    );
    image
}

#[tokio::test]
#[ignore = "live: needs Keystone and Glance (scripts/services.py up)"]
async fn image_plugin_manages_glance_images() {
    ensure_plugin();
    let cloud = cloud_json();
    let clients = admin_clients();
    // By module name and by service_version; the endpoint is the catalog's image one.
    let factory = clients.module("image").unwrap();
    assert!(std::ptr::eq(
        factory.service(),
        &squall_plugin_image::image::SERVICE
    ));
    assert_eq!(
        factory.base_url().await.unwrap(),
        s(&cloud, "/endpoints/image")
    );
    assert!(clients.module("image.v2").is_ok());
    let images = factory.client_of::<ImagesClient>().await.unwrap();

    // The cloud's image: shown, and equal to its entry in the list.
    let image_ref = s(&cloud, "/compute/image_ref");
    let shown = images.show_image(&image_ref).await.unwrap();
    assert_eq!(shown.status, 200);
    let image = shown.body;
    assert_eq!(image.id, image_ref);
    assert_eq!(
        image.name.as_deref(),
        Some(&*s(&cloud, "/compute/image_name"))
    );
    assert_eq!(image.status, ImageStatusV2_0::Active);
    assert!(image.size.is_some_and(|n| n > 0), "{image:?}");
    assert_eq!(image.self_, format!("/v2/images/{image_ref}"));
    let public = ListImagesQueryV2_0 {
        name: image.name.clone(),
        visibility: Some(ListImagesQueryVisibilityV2_0::All),
        ..Default::default()
    };
    let listed = images.list_images(Some(&public.into())).await.unwrap().body;
    assert!(listed.images.contains(&image), "{listed:?}");

    // Two records with one name; the name filter finds both, a page of one at a time.
    let name = common::unique("squall-image");
    let first = create_image(&images, &name, &["squall", "one"]).await;
    let second = create_image(&images, &name, &["squall", "two"]).await;
    for image in [&first, &second] {
        assert_eq!(image.name.as_deref(), Some(name.as_str()));
        assert_eq!(image.status, ImageStatusV2_0::Queued);
        assert_eq!((image.size, image.checksum.as_deref()), (None, None));
        assert_eq!(image.min_ram, 64);
        // Glance keeps tags as a set: their order is its own.
        assert!(image.tags.iter().any(|t| t == "squall"), "{image:?}");
        assert_eq!(image.tags.len(), 2, "{image:?}");
    }
    let page = |marker: Option<String>| ListImagesQueryV2_0 {
        name: Some(name.clone()),
        limit: Some(1),
        marker,
        ..Default::default()
    };
    let one = images
        .list_images(Some(&page(None).into()))
        .await
        .unwrap()
        .body;
    assert_eq!(one.images.len(), 1, "{one:?}");
    let next = one.next.as_deref().unwrap_or_default();
    assert!(next.contains("marker="), "{one:?}");
    let two = images
        .list_images(Some(&page(Some(one.images[0].id.clone())).into()))
        .await
        .unwrap()
        .body;
    assert_eq!(two.images.len(), 1, "{two:?}");
    let mut found = [one.images[0].id.clone(), two.images[0].id.clone()];
    found.sort();
    let mut made = [first.id.clone(), second.id.clone()];
    made.sort();
    assert_eq!(found, made);

    // Additional properties: Glance keeps any string-valued key; the open image type decodes
    // the record (strict validation included) and the key stays in the raw body.
    let token = clients.auth_provider().token().await.unwrap();
    let extra = reqwest::Client::new()
        .post(format!("{}/v2/images", s(&cloud, "/endpoints/image")))
        .header("X-Auth-Token", token.expose())
        .json(&json!({"name": name, "squall_note": "made by hand"}))
        .send()
        .await
        .unwrap();
    assert_eq!(extra.status().as_u16(), 201);
    let extra: Value = extra.json().await.unwrap();
    let extra_id = extra["id"].as_str().unwrap().to_owned();
    let shown = images.show_image(&extra_id).await.unwrap();
    assert_eq!(shown.body.id, extra_id);
    let raw: Value = serde_json::from_slice(&shown.raw).unwrap();
    assert_eq!(raw["squall_note"], "made by hand");
    // The typed request has no such key: reading one from JSON is refused, not dropped.
    let refused = squall::runtime::decode::from_value::<CreateImageRequestV2_0>(
        &json!({"name": name, "squall_note": "x"}),
    );
    assert!(refused.is_err());

    // Glance's errors come back typed: a taken id, an unknown image.
    let taken = CreateImageRequestV2_0 {
        id: Some(first.id.clone()),
        ..Default::default()
    };
    let err = images.create_image(&taken.into()).await.unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Conflict), "{err}");
    for id in [&first.id, &second.id, &extra_id] {
        assert_eq!(images.delete_image(id).await.unwrap().status, 204);
    }
    for id in [&first.id, &second.id, &extra_id] {
        let err = images.show_image(id).await.unwrap_err();
        assert_eq!(err.http_kind(), Some(HttpErrorKind::NotFound), "{err}");
        let err = images.delete_image(id).await.unwrap_err();
        assert_eq!(err.http_kind(), Some(HttpErrorKind::NotFound), "{err}");
    }
}
