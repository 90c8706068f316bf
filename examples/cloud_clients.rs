//! ServiceClients for a cloud: reads `clouds.yaml` (cloud `$OS_CLOUD`) or `OS_*` variables,
//! then lists keypairs (Nova), resource providers (Placement) and, through the example
//! plugin, bare metal nodes (Ironic).
//!
//! ```sh
//! eval "$(python3 scripts/services.py env)"   # OS_CLIENT_CONFIG_FILE and OS_CLOUD=squall
//! cargo run --example cloud_clients
//! ```

use squall::ClientsExt;
use squall::runtime::CloudConfig;
use squall_plugin_baremetal::baremetal::NodesClient;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    squall_plugin_baremetal::register()?;
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

    let nodes = clients
        .module("baremetal")?
        .client(NodesClient::new)
        .await?;
    let listed = nodes.list_nodes().await?;
    println!("ironic answered {} at {:?}", listed.status, listed.version);
    Ok(())
}
