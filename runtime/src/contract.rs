//! The contract between generated code and the runtime: everything a generated file names or
//! implements, in one module. Generated code imports it as `rt`.
//!
//! A generated service is tables plus small trait impls:
//! - a [`ServiceMeta`] and a zero-sized [`Service`] marker;
//! - per operation, an [`OperationMeta`] table of spans ([`OpSpan`]) and response variants
//!   ([`VariantMeta`]);
//! - per type, a [`Decode`] impl (structs through [`Record`], string enums through
//!   [`StrEnum`]);
//! - per versioned request or response, a [`VersionedRequest`] or [`VersionedResponse`] impl
//!   over a spans table;
//! - per client, a [`GeneratedClient`] impl; its methods send a [`Request`] through
//!   [`ServiceClient::call`], one non-generic path, and type the [`RawResponse`].

pub use serde_json::Value;

pub use crate::client::{GeneratedClient, Request, Service, ServiceClient};
pub use crate::clients::{ClientsFactory, ServiceClients};
pub use crate::encode::{Encode, Writer};
pub use crate::{
    encodable, extends, record, records, str_enums, variants_from, versioned_request,
    versioned_response,
};
pub use crate::decode::{Decode, Decoder, Fields, Record, StrEnum};
pub use crate::error::Error;
pub use crate::meta::{
    HeaderFormat, OpSpan, OperationMeta, ServiceMeta, Span, VariantError, VariantMeta,
    VersionDocument, VersionedRequest, VersionedResponse,
};
pub use crate::response::{NoBody, RawResponse, Response};
pub use crate::schema::EmbeddedSchema;
pub use crate::version::{ApiVersion, Microversion};

/// What a generated method returns.
pub type Result<T> = std::result::Result<Response<T>, Error>;

/// Serializes a string enum as its spelling (the generated request-side enums use it).
pub fn serialize_str_enum<T: StrEnum + PartialEq, S: serde::Serializer>(
    value: &T,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    match T::VARIANTS.iter().find(|(_, v)| v == value) {
        Some((name, _)) => serializer.serialize_str(name),
        None => Err(serde::ser::Error::custom("a variant without a spelling")),
    }
}

/// The span `min_major.min_minor`–`max_major.max_minor`.
pub const fn span(min_major: u32, min_minor: u32, max_major: u32, max_minor: u32) -> Span {
    Span::closed(min_major, min_minor, max_major, max_minor)
}

/// The span from `major.minor` to the newest version.
pub const fn from(major: u32, minor: u32) -> Span {
    Span::open(major, minor)
}

/// A row of an operation's request table.
pub const fn op(
    span: Span,
    method: &'static str,
    path: &'static str,
    statuses: &'static [u16],
) -> OpSpan {
    OpSpan::new(span, method, path, statuses)
}

/// A row of an operation's response table: variant `index` with a body checked by `schema`.
pub const fn body(span: Span, index: usize, schema: &'static EmbeddedSchema) -> VariantMeta {
    VariantMeta::new(span, index, Some(schema))
}

/// A row of an operation's response table: variant `index`, without a body.
pub const fn no_body(span: Span, index: usize) -> VariantMeta {
    VariantMeta::new(span, index, None)
}

/// Implements [`Record`] and [`Decode`] (and with `encode`, [`Encode`] and `Serialize`) for a
/// generated struct from its table of fields: `rust_name: req|opt|nullable "json_name"`, and
/// `+ base` when it extends an earlier version. `open` keeps unknown fields from being errors.
#[macro_export]
macro_rules! record {
    (open encode $($rest:tt)*) => { $crate::record!(@go false, encode, $($rest)*); };
    (open $($rest:tt)*) => { $crate::record!(@go false, decode, $($rest)*); };
    (encode $($rest:tt)*) => { $crate::record!(@go true, encode, $($rest)*); };
    (@go $closed:literal, $mode:ident, $t:ident {
        $($f:ident: $k:ident $j:literal),* $(,)?
    } $(+ $base:ident)?) => {
        impl $crate::decode::Record for $t {
            const CLOSED: bool = $closed;
            fn read<'v>(f: &mut $crate::decode::Fields<'_, 'v>) -> Option<Self> {
                Some(Self { $($f: f.$k($j)?,)* $($base: f.base()?,)? })
            }
        }
        $crate::records!($t);
        $crate::record!(@$mode $t { $($f: $k $j),* } $(+ $base)?);
    };
    (@decode $($rest:tt)*) => {};
    (@encode $t:ident { $($f:ident: $k:ident $j:literal),* } $(+ $base:ident)?) => {
        impl $crate::encode::Encode for $t {
            fn encode(&self, w: &mut $crate::encode::Writer) {
                $(w.$k($j, &self.$f);)*
                $($crate::encode::Encode::encode(&self.$base, w);)?
            }
        }
        $crate::encodable!($t);
    };
    ($($rest:tt)*) => { $crate::record!(@go true, decode, $($rest)*); };
}

/// `Deref` from a struct to the earlier version it extends (and with `mut`, `DerefMut`).
#[macro_export]
macro_rules! extends {
    ($t:ty => $base:ty) => {
        impl std::ops::Deref for $t {
            type Target = $base;
            fn deref(&self) -> &$base {
                &self.base
            }
        }
    };
    (mut $t:ty => $base:ty) => {
        $crate::extends!($t => $base);
        impl std::ops::DerefMut for $t {
            fn deref_mut(&mut self) -> &mut $base {
                &mut self.base
            }
        }
    };
}

/// Implements [`VersionedResponse`] for a response enum from its table of variants:
/// `index => Variant` for variants with a body, then `empty { index => Variant }` for unit
/// variants (versions that answer without one).
#[macro_export]
macro_rules! versioned_response {
    ($t:ident { $($i:literal => $v:ident),* $(,)? } $(empty { $($ei:literal => $ev:ident),* $(,)? })?) => {
        impl $crate::meta::VersionedResponse for $t {
            fn decode_variant<'v>(
                index: usize,
                d: &mut $crate::decode::Decoder<'v>,
                value: &'v $crate::contract::Value,
            ) -> Option<Self> {
                match index {
                    $($i => $crate::decode::Decode::decode(d, value).map(Self::$v),)*
                    $($($ei => Some(Self::$ev),)*)?
                    _ => d.fail("no such response variant"),
                }
            }
        }
    };
}

/// Implements [`VersionedRequest`] for a request enum from its table of variants:
/// `index => Variant(Type) @ span`, in version order.
#[macro_export]
macro_rules! versioned_request {
    ($t:ident of $service:path { $($i:literal => $v:ident($ty:ty) @ $span:expr),* $(,)? }) => {
        impl $crate::meta::VersionedRequest for $t {
            const NAME: &'static str = stringify!($t);
            const SERVICE: &'static $crate::meta::ServiceMeta = &$service;
            const SPANS: &'static [$crate::meta::Span] = &[$($span),*];

            fn index(&self) -> usize {
                match self {
                    $(Self::$v(_) => $i,)*
                }
            }

            fn decode_variant<'v>(
                index: usize,
                d: &mut $crate::decode::Decoder<'v>,
                value: &'v $crate::contract::Value,
            ) -> Option<Self> {
                match index {
                    $($i => $crate::decode::Decode::decode(d, value).map(Self::$v),)*
                    _ => d.fail("no such request variant"),
                }
            }
        }
    };
}

/// `From` each variant's type for a request enum (each type must appear once).
#[macro_export]
macro_rules! variants_from {
    ($t:ident { $($v:ident($ty:ty)),* $(,)? }) => {$(
        impl From<$ty> for $t {
            fn from(value: $ty) -> Self {
                Self::$v(value)
            }
        }
    )*};
}
