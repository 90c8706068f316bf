//! An example squall plugin, the way a Tempest plugin exposes service clients: it generates
//! a Glance (image v2) client, a service squall does not bundle, from its own spec in
//! `build.rs` with `squall-gen`, and registers it so that [`squall::ServiceClients::module`]
//! reaches it.
//!
//! Glance has no microversions: the spec says `microversions: false` and holds one folder,
//! `v2/`, so no version header is sent (see `specs/image/service.yaml`).
//!
//! ```no_run
//! use squall_plugin_image::image::{Image, ImageClients as _, ImagesClient};
//! # async fn demo(clients: squall::ServiceClients) -> Result<(), Box<dyn std::error::Error>> {
//! squall_plugin_image::register()?;
//! // Typed: the factory of the plugin's service hands out its clients.
//! let images = clients.service::<Image>().images().await?;
//! // Or by module name, checked when the client is built.
//! let same: ImagesClient = clients.module("image")?.client_of().await?;
//! let listed = images.list_images(None).await?;
//! for image in &listed.body.images {
//!     println!("{} {:?} {:?}", image.id, image.name, image.status);
//! }
//! println!("{:?}", same.microversion());
//! # Ok(()) }
//! ```

// The generated Glance client (from `specs/image`): `pub mod image { ... }`.
include!(concat!(env!("OUT_DIR"), "/image.rs"));

/// The plugin's name in the registry.
pub const PLUGIN: &str = "squall-plugin-image";

/// The module this plugin registers: name `image`, service_version `image.v2`.
pub fn module() -> squall::runtime::ServiceModule {
    squall::runtime::ServiceModule::new("image", "image.v2", &image::SERVICE)
}

/// Registers the plugin's module in the process-wide registry; a second call is refused
/// (the registry names the plugin and both registrations).
pub fn register() -> Result<(), squall::runtime::RegistryError> {
    squall::register_plugin(PLUGIN, vec![module()])
}
