//! squall-runtime: the thin runtime behind squall's generated OpenStack clients.
//!
//! - [`client::RestClient`] and [`client::ServiceClient`] send requests with the microversion
//!   headers a service's spec declares, check the answered version as Tempest does, select the
//!   response variant by the answered version and validate the body strictly.
//! - [`auth`] does Keystone v3 password authentication and catalog lookup.
//! - [`error::Error`] maps failures the way tempest.lib does, with the operation, the versions,
//!   the status and the body.
//! - [`version`] holds microversions, Tempest's version requests and ranges.

pub mod auth;
pub mod blocking;
pub mod client;
pub mod credentials;
pub mod error;
pub mod meta;
pub mod provider;
pub mod query;
pub mod redact;
pub mod response;
pub mod schema;
pub mod version;

pub use auth::{Catalog, PasswordAuth, Secret, Session};
pub use blocking::BlockingRuntime;
pub use client::{Request, RestClient, ServiceClient, VersionedRequest, encode_path};
pub use error::{Error, ErrorContext, HttpErrorKind, ProtocolFault};
pub use meta::{HeaderFormat, OpSpan, OperationMeta, ServiceMeta, VariantMeta, VersionDocument};
pub use response::{BodyDecoder, DecodeError, NoBody, Response, Validation, VersionedBody};
pub use schema::{EmbeddedSchema, Violation};
pub use version::{ApiVersion, Microversion, VersionError, VersionRange};
