//! An example squall plugin, the way a Tempest plugin exposes service clients: it generates
//! an Ironic (bare metal) client from its own spec in `build.rs` with `squall-gen`, and
//! registers it so that [`squall::ServiceClients::module`] reaches it.
//!
//! ```no_run
//! # async fn demo(clients: squall::ServiceClients) -> Result<(), Box<dyn std::error::Error>> {
//! squall_plugin_baremetal::register()?;
//! let nodes = clients
//!     .module("baremetal")?
//!     .client(squall_plugin_baremetal::baremetal::NodesClient::new)
//!     .await?;
//! let listed = nodes.list_nodes().await?;
//! println!("{:?}", listed.body);
//! # Ok(()) }
//! ```

/// The generated Ironic client (from `specs/baremetal`).
#[allow(missing_docs, clippy::all)]
#[path = "."]
pub mod baremetal {
    include!(concat!(env!("OUT_DIR"), "/generated/baremetal/mod.rs"));
}

/// The plugin's name in the registry.
pub const PLUGIN: &str = "squall-plugin-baremetal";

/// The module this plugin registers: name `baremetal`, service_version `baremetal.v1`.
pub fn module() -> squall::runtime::ServiceModule {
    squall::runtime::ServiceModule::new("baremetal", "baremetal.v1", &baremetal::SERVICE)
}

/// Registers the plugin's module in the process-wide registry; a second call is refused
/// (the registry names the plugin and both registrations).
pub fn register() -> Result<(), squall::runtime::RegistryError> {
    squall::register_plugin(PLUGIN, vec![module()])
}
