//! An example squall plugin, the way a Tempest plugin exposes service clients: it generates
//! a Keystone (identity v3) client, a service squall does not bundle, from its own spec in
//! `build.rs` with `squall-gen`, and registers it so that [`squall::ServiceClients::module`]
//! reaches it.
//!
//! Keystone has no microversions; the spec pins the service to one pseudo-version and marks
//! every operation unversioned, so no version header is sent (see
//! `specs/identity/service.yaml`).
//!
//! ```no_run
//! use squall_plugin_identity::identity::{Identity, IdentityClients as _, RegionsClient};
//! # async fn demo(clients: squall::ServiceClients) -> Result<(), Box<dyn std::error::Error>> {
//! squall_plugin_identity::register()?;
//! // Typed: the factory of the plugin's service hands out its clients.
//! let regions = clients.service::<Identity>().regions().await?;
//! // Or by module name, checked when the client is built.
//! let same: RegionsClient = clients.module("identity")?.client_of().await?;
//! let listed = regions.list_regions(None).await?;
//! println!("{:?} {:?}", listed.body, same.microversion());
//! # Ok(()) }
//! ```

// The generated Keystone client (from `specs/identity`): `pub mod identity { ... }`.
include!(concat!(env!("OUT_DIR"), "/identity.rs"));

/// The plugin's name in the registry.
pub const PLUGIN: &str = "squall-plugin-identity";

/// The module this plugin registers: name `identity`, service_version `identity.v3`.
pub fn module() -> squall::runtime::ServiceModule {
    squall::runtime::ServiceModule::new("identity", "identity.v3", &identity::SERVICE)
}

/// Registers the plugin's module in the process-wide registry; a second call is refused
/// (the registry names the plugin and both registrations).
pub fn register() -> Result<(), squall::runtime::RegistryError> {
    squall::register_plugin(PLUGIN, vec![module()])
}
