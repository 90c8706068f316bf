//! ServiceClients for a cloud: reads `clouds.yaml` (cloud `$OS_CLOUD`) or `OS_*` variables,
//! then lists keypairs (Nova), resource providers (Placement), bare metal nodes (Ironic) and
//! regions (Keystone) with squall's bundled modules, and images (Glance) through the example
//! plugin `squall-plugin-image`.
//!
//! ```sh
//! eval "$(python3 scripts/services.py env)"   # OS_CLIENT_CONFIG_FILE and OS_CLOUD=squall
//! cargo run --example cloud_clients
//! ```

use squall::prelude::*;
use squall::runtime::CloudConfig;
use squall_plugin_image::image::{Image, ImageClients as _};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    squall_plugin_image::register()?;
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

    let regions = clients.identity().regions().await?;
    let listed = regions.list_regions(None).await?;
    let names: Vec<_> = listed
        .body
        .regions
        .iter()
        .filter_map(|r| r.id.as_deref())
        .collect();
    println!(
        "keystone answered {} (no microversion: {:?}), regions {names:?}",
        listed.status, listed.version
    );

    let images = clients.service::<Image>().images().await?;
    let listed = images.list_images(None).await?;
    let body = &listed.body;
    let names: Vec<_> = body
        .images
        .iter()
        .map(|i| i.name.as_deref().unwrap_or(&i.id))
        .collect();
    println!(
        "glance answered {} (no microversion: {:?}), images {names:?}",
        listed.status, listed.version
    );
    Ok(())
}
