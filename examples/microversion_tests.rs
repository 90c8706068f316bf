//! A microversion test suite written with `squall-testing`, as the README's "Writing
//! microversion tests" shows it. Each test declares the compute range it needs; the suite skips
//! it with a reason or runs it with clients at the version Tempest's rules select.
//!
//! ```sh
//! python3 scripts/services.py up
//! printf '[compute]\nmin_microversion = "2.2"\nmax_microversion = "latest"\n' > /tmp/squall-test.toml
//! SQUALL_TEST_CONFIG=/tmp/squall-test.toml OS_PASSWORD=squall-admin-pass \
//!     cargo run --example microversion_tests
//! ```
//!
//! In a project, the same file is a test target with `harness = false`, run by `cargo test`.

use std::process::ExitCode;
use std::sync::Arc;

use serde_json::json;
use squall::clients::compute::{
    self,
    keypairs::{CreateKeypairRequest, KeypairsClient, ListKeypairsResponse},
};
use squall::runtime::{PasswordAuth, RestClient, Secret};
use squall_testing::{
    Connection, Requires, Suite, TestContext, TestError, TestResult, assert_answered,
};

const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDFEGenVjRXC3/DFQDE9bNvsoDkqKwnokpilXc+VfKhI example";

/// Logs in with the `OS_*` variables and finds endpoints in the catalog; called once per run.
async fn connect() -> Result<Connection, TestError> {
    let env = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let auth = PasswordAuth {
        auth_url: env("OS_AUTH_URL", "http://127.0.0.1:15000/v3"),
        username: env("OS_USERNAME", "admin"),
        password: Secret::new(env("OS_PASSWORD", "")),
        user_domain_name: env("OS_USER_DOMAIN_NAME", "Default"),
        project_name: env("OS_PROJECT_NAME", "admin"),
        project_domain_name: env("OS_PROJECT_DOMAIN_NAME", "Default"),
    };
    let rest = RestClient::new()?;
    let session = auth.authenticate(rest.http()).await?;
    let rest = Arc::new(rest.with_token(session.token.clone()));
    Ok(Connection::new(rest).with_catalog(session.catalog, "public", None))
}

/// From 2.2 a keypair has a `type`, create answers 201 and delete 204.
async fn create_has_type(ctx: TestContext) -> TestResult {
    let version = ctx.version(&compute::SERVICE).unwrap_or_default();
    let keypairs: KeypairsClient = ctx.client().await?;
    let name = format!("example-{}", std::process::id());
    let body = CreateKeypairRequest::from_json_at(
        version,
        json!({"keypair": {"name": name, "public_key": PUBLIC_KEY}}),
    )?;
    let created = keypairs.create_keypair(&body).await?;
    assert_answered(&created, version)?;
    assert_eq!(created.status, 201);
    let deleted = keypairs.delete_keypair(&name, None).await?;
    assert_eq!(deleted.status, 204);
    Ok(())
}

/// Before 2.35 the keypair listing has no pagination links.
async fn list_has_no_links(ctx: TestContext) -> TestResult {
    let keypairs: KeypairsClient = ctx.client().await?;
    let listed = keypairs.list_keypairs(None).await?;
    assert!(matches!(listed.body, ListKeypairsResponse::V2_2(_)));
    Ok(())
}

fn main() -> ExitCode {
    let mut suite = Suite::from_env().connect(connect);
    suite.group(
        "keypairs_v22",
        Requires::new().service(&compute::SERVICE, "2.2", "latest"),
        |group| {
            group.test("create_has_type", create_has_type);
        },
    );
    suite.test(
        "keypairs_list_before_2_35",
        Requires::new().service(&compute::SERVICE, "2.10", "2.34"),
        list_has_no_links,
    );
    suite.run()
}
