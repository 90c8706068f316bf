//! The operation table of a generated service: every operation with its group and its typed
//! decoder, so tools (`squall validate`, `squall coverage`) find an operation by name or by
//! `METHOD PATH` and decode a captured body strictly, as a call would.

use std::fmt;

use bytes::Bytes;

use crate::decode::Decode;
use crate::error::Error;
use crate::meta::{OperationMeta, ServiceMeta, VersionedResponse};
use crate::response::{RawResponse, Validation};
use crate::version::Microversion;

/// A typed body, decoded by an operation's [`DecodeFn`].
pub type Decoded = Box<dyn fmt::Debug + Send + Sync>;

/// Types a checked body as the operation's response type.
pub type DecodeFn = fn(RawResponse) -> Result<Decoded, Error>;

/// Types the body as a versioned response enum (the variant of the answered version).
pub fn decode_versioned<T>(raw: RawResponse) -> Result<Decoded, Error>
where
    T: VersionedResponse + fmt::Debug + Send + Sync + 'static,
{
    raw.versioned::<T>().map(|r| Box::new(r.body) as Decoded)
}

/// Types the body as the operation's one response type.
pub fn decode_single<T>(raw: RawResponse) -> Result<Decoded, Error>
where
    T: Decode + fmt::Debug + Send + Sync + 'static,
{
    raw.single::<T>().map(|r| Box::new(r.body) as Decoded)
}

/// Types the response of an operation without a body.
pub fn decode_empty(raw: RawResponse) -> Result<Decoded, Error> {
    raw.empty().map(|r| Box::new(r.body) as Decoded)
}

/// One row of a service's operation table.
#[derive(Debug)]
pub struct OperationEntry {
    /// The group (client) the operation belongs to (`keypairs`).
    pub group: &'static str,
    /// The operation's table.
    pub meta: &'static OperationMeta,
    /// Its typed decoder.
    pub decode: DecodeFn,
}

impl OperationEntry {
    /// A row: group, operation, decoder.
    pub const fn new(group: &'static str, meta: &'static OperationMeta, decode: DecodeFn) -> Self {
        Self {
            group,
            meta,
            decode,
        }
    }

    /// Checks `body` as a response of this operation answered at `version` (schema first,
    /// when `mode` is strict, then the typed decode) and returns the typed value.
    ///
    /// A body where the version's response has none is refused.
    pub fn decode_body(
        &self,
        version: Microversion,
        body: Bytes,
        mode: Validation,
    ) -> Result<Decoded, Error> {
        let raw = RawResponse::from_body(self.meta, version, body, mode)?;
        (self.decode)(raw)
    }
}

/// Every operation of one generated service, group by group.
#[derive(Debug)]
pub struct ServiceTable {
    /// The service.
    pub service: &'static ServiceMeta,
    /// Each group's operations.
    pub groups: &'static [&'static [OperationEntry]],
}

impl ServiceTable {
    /// Every operation, group by group.
    pub fn operations(&self) -> impl Iterator<Item = &'static OperationEntry> + use<> {
        self.groups.iter().flat_map(|g| g.iter())
    }

    /// The operation named `name` (`create_keypair`).
    pub fn find(&self, name: &str) -> Option<&'static OperationEntry> {
        self.operations().find(|e| e.meta.name == name)
    }

    /// The operation that `METHOD PATH` reaches at `version`: the path may be a template
    /// (`/os-keypairs/{keypair_name}`) or a concrete path (`/os-keypairs/demo`, a query string
    /// is ignored). Literal segments win over parameters (`/servers/detail` is not
    /// `/servers/{server_id}`).
    pub fn route(
        &self,
        method: &str,
        path: &str,
        version: Microversion,
    ) -> Option<&'static OperationEntry> {
        let path = path.split(['?', '#']).next().unwrap_or(path);
        let wanted: Vec<&str> = segments(path).collect();
        self.operations()
            .filter_map(|entry| {
                let span = entry.meta.span_for(version)?;
                if !span.method.eq_ignore_ascii_case(method) {
                    return None;
                }
                let template: Vec<&str> = segments(span.path).collect();
                if template.len() != wanted.len() {
                    return None;
                }
                let mut literal = 0;
                for (t, w) in template.iter().zip(&wanted) {
                    if t == w {
                        literal += 1;
                    } else if !(t.starts_with('{') && t.ends_with('}')) {
                        return None;
                    }
                }
                Some((literal, entry))
            })
            .max_by_key(|(literal, _)| *literal)
            .map(|(_, entry)| entry)
    }
}

fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}
