//! A microversion test suite written with `squall-testing`, as the README's "Writing
//! microversion tests" shows it. Each test declares the compute range it needs; the suite skips
//! it with a reason or runs it with clients at the version Tempest's rules select.
//!
//! ```sh
//! python3 scripts/services.py up
//! printf '[compute]\nmin_microversion = "2.2"\nmax_microversion = "latest"\n' > /tmp/squall-test.toml
//! eval "$(python3 scripts/services.py env)"   # OS_CLOUD and OS_CLIENT_CONFIG_FILE
//! SQUALL_TEST_CONFIG=/tmp/squall-test.toml cargo run --example microversion_tests
//! ```
//!
//! In a project, the same file is a test target with `harness = false`, run by `cargo test`.

use squall::prelude::*;
use std::process::ExitCode;

use serde_json::json;
use squall::clients::compute::{
    self,
    keypairs::{CreateKeypairRequest, KeypairsClient, ListKeypairsResponse},
};
use squall::runtime::CloudConfig;
use squall_testing::{
    Connection, Requires, Suite, TestContext, TestError, TestResult, assert_answered,
};

const PUBLIC_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDFEGenVjRXC3/DFQDE9bNvsoDkqKwnokpilXc+VfKhI example";

/// The cloud from `clouds.yaml` (`OS_CLOUD`) or `OS_*` variables; built once per run.
async fn connect() -> Result<Connection, TestError> {
    let clients = CloudConfig::load()?.builder()?.build()?;
    Ok(Connection::from_clients(clients))
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
