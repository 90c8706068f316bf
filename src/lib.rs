//! squall: typed OpenStack service clients that know about microversions.
//!
//! This umbrella crate re-exports the runtime ([`runtime`]) and the generated clients
//! ([`clients`]). [`runtime::ServiceClients`] hands out every client for one set of
//! credentials: two lines from a `clouds.yaml` (or `OS_*` variables) to a client.
//!
//! ```no_run
//! use squall::prelude::*; // the typed accessors: clients.compute().keypairs(), ...
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let clients = squall::runtime::CloudConfig::load()?.builder()?.build()?;
//! let keypairs = clients.compute().keypairs().await?;
//! let listed = keypairs.list_keypairs(None).await?;
//! println!("answered at {:?}: {:?}", listed.version, listed.body);
//! # Ok(())
//! # }
//! ```
//!
//! Credentials can also be given in code (`ServiceClients::new(credentials, identity_uri)`,
//! with builder options for the region, TLS, timeouts and per-service settings), and a
//! factory takes a microversion: `clients.compute().with_microversion(ApiVersion::at(2, 2))`.
//! A consumer that wants no generator at build time depends on `squall-clients` and
//! `squall-runtime` directly, or on this crate with `default-features = false`.
//!
//! A request body is built from the types of its version, without `json!`:
//!
//! ```
//! use squall::clients::compute::keypairs::{CreateKeypairRequest, CreateKeypairResponse};
//! use squall::clients::compute::{KeypairsClient, types};
//! use squall::runtime::ApiVersion;
//!
//! async fn demo(compute: squall::runtime::ServiceClient) -> Result<(), squall::runtime::Error> {
//!     let keypairs = KeypairsClient::new(compute).with_microversion(ApiVersion::at(2, 2));
//!     let mut keypair = types::CreateKeypairRequestKeypairV2_2::new("demo");
//!     keypair.type_ = Some(types::CreateKeypairRequestKeypairTypeV2_2::Ssh);
//!     let body = CreateKeypairRequest::V2_2(types::CreateKeypairRequestV2_2 { keypair });
//!     let created = keypairs.create_keypair(&body).await?;
//!     match created.body {
//!         CreateKeypairResponse::V2_2(kp) => println!("{} is a {} key", kp.keypair.name, kp.keypair.type_),
//!         other => println!("answered {:?}: {other:?}", created.version),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! A service's factory builds only that service's clients. This compiles:
//!
//! ```
//! use squall::prelude::*;
//! use squall::clients::compute::KeypairsClient;
//! async fn ok(clients: ServiceClients) -> Result<KeypairsClient, squall::runtime::Error> {
//!     clients.compute().client::<KeypairsClient>().await
//! }
//! ```
//!
//! and this does not, since the compute factory cannot build a Placement client:
//!
//! ```compile_fail,E0271
//! use squall::prelude::*;
//! use squall::clients::placement::TraitsClient;
//! async fn wrong(clients: ServiceClients) -> Result<TraitsClient, squall::runtime::Error> {
//!     clients.compute().client::<TraitsClient>().await
//! }
//! ```

#![warn(missing_docs)]

pub use squall_clients as clients;
pub use squall_runtime as runtime;

pub mod factories;

pub use factories::{available_modules, register_plugin};
pub use squall_clients::ClientsExt;
pub use squall_runtime::{Credentials, ServiceClients};

/// Everything a user of the generated clients names: the typed factories of every service,
/// the request trait (`from_json_at`) and the runtime's client types.
pub mod prelude {
    pub use squall_clients::ClientsExt as _;
    #[cfg(feature = "baremetal")]
    pub use squall_clients::baremetal::BaremetalClients as _;
    #[cfg(feature = "compute")]
    pub use squall_clients::compute::ComputeClients as _;
    #[cfg(feature = "identity")]
    pub use squall_clients::identity::IdentityClients as _;
    #[cfg(feature = "placement")]
    pub use squall_clients::placement::PlacementClients as _;
    pub use squall_runtime::{ApiVersion, Credentials, ServiceClients, VersionedRequest as _};
}
