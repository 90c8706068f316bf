//! squall-runtime: the thin runtime behind squall's generated OpenStack clients.
//!
//! Start from [`ServiceClients`]: every client for one set of credentials, two lines from a
//! `clouds.yaml` (`OS_CLOUD`) or `OS_*` variables to a client:
//!
//! ```no_run
//! use squall_runtime::{CloudConfig, GeneratedClient};
//!
//! // Any generated client (`KeypairsClient`, `NodesClient`, ...) of the cloud in clouds.yaml.
//! async fn client<C: GeneratedClient>() -> Result<C, Box<dyn std::error::Error>> {
//!     let clients = CloudConfig::load()?.builder()?.build()?;
//!     Ok(clients.service::<C::Service>().client::<C>().await?)
//! }
//! ```
//!
//! (with the `squall` crate, `clients.compute().keypairs().await?` gives a typed client.)
//!
//! - [`clients::ServiceClients`] hands out a [`clients::ClientsFactory`] per service module
//!   ([`registry`]: generated modules and plugins); [`cloud_config`] reads `clouds.yaml`,
//!   `OS_*` variables and `tempest.conf`; [`waiters`] waits for deletion and activation.
//! - [`client::RestClient`] and [`client::ServiceClient`] send requests with the microversion
//!   headers a service's spec declares, check the answered version as Tempest does, select the
//!   response variant by the answered version and validate the body strictly.
//! - [`auth`] does Keystone v3 authentication and catalog lookup; [`credentials`] holds every
//!   method and scope; [`provider::AuthProvider`] caches and renews the token for all clients.
//! - [`error::Error`] maps failures the way tempest.lib does, with the operation, the versions,
//!   the status and the body.
//! - [`discovery`] reads a server's microversion range and negotiates it with the configuration
//!   and the specs.
//! - [`table`] lists a generated service's operations with their typed decoders;
//!   [`coverage`] records which ones a run reached (`SQUALL_COVERAGE`).
//! - [`version`] holds microversions, Tempest's version requests and ranges.

#![warn(missing_docs)]

#[doc(hidden)]
pub use serde;

pub mod auth;
pub mod blocking;
pub mod check;
pub mod client;
pub mod clients;
pub mod cloud_config;
pub mod contract;
pub mod coverage;
pub mod credentials;
pub mod decode;
pub mod discovery;
pub mod encode;
pub mod error;
pub mod meta;
pub mod node;
pub mod provider;
pub mod query;
pub mod redact;
pub mod registry;
pub mod response;
pub mod schema;
pub mod secret;
pub mod status;
pub mod table;
pub mod tempest_conf;
pub mod transport;
pub mod version;
pub mod waiters;

pub use auth::{Catalog, PasswordAuth, Session};
pub use blocking::{Blocking, BlockingRuntime};
pub use check::{Check, Format, Lit, Pattern};
pub use client::{GeneratedClient, Service};
pub use client::{Request, RestClient, ServiceClient, encode_path};
pub use clients::{
    AnyService, ClientsError, ClientsFactory, ServiceClients, ServiceClientsBuilder,
    ServiceSettings,
};
pub use cloud_config::CloudConfig;
pub use credentials::{Credentials, CredentialsBuilder, CredentialsError, Scope};
pub use decode::{Decode, DecodeFailure, Decoder};
pub use discovery::{Discovery, DiscoveryError, NegotiationError, ServerVersions, negotiate};
pub use error::{Error, ErrorContext, HttpErrorKind, ProtocolFault};
pub use meta::{
    HeaderFormat, OpSpan, OperationMeta, ServiceMeta, Span, VariantError, VariantMeta,
    VersionDocument, VersionedRequest, VersionedResponse, pick_variant,
};
pub use node::{Items, Members, Node, ParseError, View};
pub use provider::{AuthProvider, EndpointFilter};
pub use registry::{Registry, RegistryError, ServiceModule};
pub use response::{NoBody, RawResponse, Response, Validation};
pub use schema::{EmbeddedSchema, Violation};
pub use secret::Secret;
pub use serde_json::Value;
pub use table::{OperationEntry, ServiceTable};
pub use transport::{
    RetryAfterError, RetryPolicy, TlsFault, TransportFault, TransportPhase, TransportSettings,
};
pub use version::{ApiVersion, Microversion, VersionError, VersionRange};
pub use waiters::{Progress, WaitError, Waiter};
