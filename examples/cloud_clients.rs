//! ServiceClients for a cloud: reads `clouds.yaml` (cloud `$OS_CLOUD`) or `OS_*` variables,
//! then lists keypairs (Nova), resource providers (Placement) and bare metal nodes (Ironic)
//! with squall's bundled modules, and regions (Keystone) through the example plugin
//! `squall-plugin-identity`.
//!
//! ```sh
//! eval "$(python3 scripts/services.py env)"   # OS_CLIENT_CONFIG_FILE and OS_CLOUD=squall
//! cargo run --example cloud_clients
//! ```

use squall::prelude::*;
use squall::runtime::CloudConfig;
use squall_plugin_identity::identity::{Identity, IdentityClients as _};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    squall_plugin_identity::register()?;
    println!("modules: {:?}", squall::available_modules());
    let clients = CloudConfig::load()?.builder()?.build()?;

    let keypairs = clients.compute().keypairs().await?;
    let listed = keypairs.list_keypairs(None).await?;
    println!("nova answered {} at {:?}", listed.status, listed.version);

    let providers = clients.placement().resource_providers().await?;
    let listed = providers.list_resource_providers(None).await?;
    println!(
        "placement answered {} at {:?}",
        listed.status, listed.version
    );

    let nodes = clients.baremetal().nodes().await?;
    let listed = nodes.list_nodes(None).await?;
    println!("ironic answered {} at {:?}", listed.status, listed.version);

    let regions = clients.service::<Identity>().regions().await?;
    let listed = regions.list_regions(None).await?;
    let body = &listed.body;
    let names: Vec<_> = body.regions.iter().map(|r| r.id.as_str()).collect();
    println!(
        "keystone answered {} (no microversion: {:?}), regions {names:?}",
        listed.status, listed.version
    );
    Ok(())
}
