//! Lists keypairs at microversion 2.2 from plain synchronous code, with credentials from the
//! usual `OS_*` environment variables (or the local test cloud's defaults).
//!
//! ```sh
//! python3 scripts/services.py up
//! OS_PASSWORD=squall-admin-pass cargo run --example list_keypairs
//! ```

use std::sync::Arc;

use squall::clients::compute::{self, KeypairsClient, keypairs};
use squall::runtime::{
    ApiVersion, Blocking, BlockingRuntime, PasswordAuth, RestClient, Secret, ServiceClient,
};

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = BlockingRuntime::new()?;
    let auth = PasswordAuth {
        auth_url: env("OS_AUTH_URL", "http://127.0.0.1:15000/v3"),
        username: env("OS_USERNAME", "admin"),
        password: Secret::new(env("OS_PASSWORD", "")),
        user_domain_name: env("OS_USER_DOMAIN_NAME", "Default"),
        project_name: env("OS_PROJECT_NAME", "admin"),
        project_domain_name: env("OS_PROJECT_DOMAIN_NAME", "Default"),
    };
    let rest = RestClient::new()?;
    let session = runtime.block_on(auth.authenticate(rest.http()))?;
    let endpoint = session
        .catalog
        .endpoint("compute", "public", None)?
        .to_owned();
    let service = ServiceClient::new(
        Arc::new(rest.with_token(session.token)),
        &endpoint,
        &compute::SERVICE,
    );
    let client = KeypairsClient::new(service).with_microversion(ApiVersion::at(2, 2));
    let keypairs = Blocking::new(client, runtime);

    let listed = keypairs.run(|c| c.list_keypairs(None))?;
    match listed.body {
        keypairs::ListKeypairsResponse::V2_2(body) => {
            for entry in body.keypairs {
                println!("{} ({:?})", entry.keypair.name, entry.keypair.type_);
            }
        }
        other => println!("answered at {:?}: {other:?}", listed.version),
    }
    Ok(())
}
