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

pub use crate::check::{Check, Format, Lit, Pattern, types as ty};
pub use crate::client::{GeneratedClient, Request, Service, ServiceClient};
pub use crate::clients::{ClientsFactory, ServiceClients};
pub use crate::decode::{Decode, Decoder, Fields, Node, Record, StrEnum};
pub use crate::encode::{Encode, Writer};
pub use crate::error::Error;
pub use crate::meta::{
    HeaderFormat, OpSpan, OperationMeta, ServiceMeta, Span, VariantError, VariantMeta,
    VersionDocument, VersionedRequest, VersionedResponse,
};
pub use crate::response::{NoBody, RawResponse, Response};
pub use crate::schema::EmbeddedSchema;
pub use crate::table::{
    OperationEntry, ServiceTable, decode_empty, decode_single, decode_versioned,
};
pub use crate::version::{ApiVersion, Microversion};
pub use crate::{
    client, encodable, extends, record, records, request_variants, response_variants, schemas,
    str_enums, subschemas, variants_from, versioned_request, versioned_response,
};

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
/// generated struct from its table of fields, `req|opt|nullable(rust_name, "json_name")`, with
/// `+ base` when it extends an earlier version. `open` lets unknown fields pass; `open(5)`
/// lets them pass when each meets `CHECKS[5]` (`additionalProperties` given as a schema). A
/// row with a third element, `req(name, "name", 3)`, checks the value against `CHECKS[3]`, the constraints
/// table of the module that invokes the macro.
#[macro_export]
macro_rules! record {
    (open($x:literal) encode $($rest:tt)*) => {
        $crate::record!(@go false, (Some(&CHECKS[$x])), encode, $($rest)*);
    };
    (open($x:literal) $($rest:tt)*) => {
        $crate::record!(@go false, (Some(&CHECKS[$x])), decode, $($rest)*);
    };
    (open encode $($rest:tt)*) => { $crate::record!(@go false, (None), encode, $($rest)*); };
    (open $($rest:tt)*) => { $crate::record!(@go false, (None), decode, $($rest)*); };
    (encode $($rest:tt)*) => { $crate::record!(@go true, (None), encode, $($rest)*); };
    (@go $closed:literal, $extras:tt, $mode:ident, $t:ident {
        $($k:ident($f:ident, $j:literal $(, $c:literal)?)),* $(,)?
    } $(+ $base:ident)?) => {
        impl $crate::decode::Record for $t {
            const CLOSED: bool = $closed;
            const EXTRAS: Option<&'static $crate::check::Check> = $extras;
            fn read<'v>(f: &mut $crate::decode::Fields<'_, 'v>) -> Option<Self> {
                Some(Self {
                    $($f: f.$k($j, $crate::record!(@check $($c)?))?,)*
                    $($base: f.base()?,)?
                })
            }
        }
        $crate::records!($t);
        $crate::record!(@$mode $t { $($k($f, $j)),* } $(+ $base)?);
    };
    (@check) => { None };
    (@check $c:literal) => { Some(&CHECKS[$c]) };
    (@decode $($rest:tt)*) => {};
    (@encode $t:ident { $($k:ident($f:ident, $j:literal)),* } $(+ $base:ident)?) => {
        impl $crate::encode::Encode for $t {
            fn encode(&self, w: &mut $crate::encode::Writer) {
                $(w.$k($j, &self.$f);)*
                $($crate::encode::Encode::encode(&self.$base, w);)?
            }
        }
        $crate::encodable!($t);
    };
    ($($rest:tt)*) => { $crate::record!(@go true, (None), decode, $($rest)*); };
}

/// Declares `SCHEMAS`, the subschemas (JSON text) of the values a service's types leave
/// untyped, each compiled on first use; rows of `CHECKS` point at them.
#[macro_export]
macro_rules! subschemas {
    ($($json:literal),* $(,)?) => {
        /// Subschemas of values the types leave untyped, compiled on first use.
        static SCHEMAS: [$crate::schema::EmbeddedSchema; [$($json),*].len()] =
            [$($crate::schema::EmbeddedSchema::new("untyped value", $json)),*];
    };
}

/// Declares embedded response schemas: `NAME("TypeName", json_text)`, each a documented
/// `pub static` compiled on first use.
#[macro_export]
macro_rules! schemas {
    ($($name:ident($ty:literal, $json:expr)),* $(,)?) => {$(
        #[doc = concat!("The validation schema of `", $ty, "`.")]
        pub static $name: $crate::schema::EmbeddedSchema =
            $crate::schema::EmbeddedSchema::new($ty, $json);
    )*};
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

/// The body of a [`VersionedResponse`] impl from the enum's variants in index order;
/// `Variant(none)` is a version that answers without a body.
#[macro_export]
macro_rules! response_variants {
    ($($v:ident $(($none:ident))?),* $(,)?) => {
        fn decode_variant<'v>(
            index: usize,
            d: &mut $crate::decode::Decoder<'v>,
            value: &'v $crate::decode::Node,
        ) -> Option<Self> {
            let mut i = 0;
            $(
                if index == i {
                    return $crate::response_variants!(@arm d, value, $v $(($none))?);
                }
                i += 1;
            )*
            let _ = i;
            d.fail("no such response variant")
        }
    };
    (@arm $d:ident, $value:ident, $v:ident) => {
        $crate::decode::Decode::decode($d, $value).map(Self::$v)
    };
    (@arm $d:ident, $value:ident, $v:ident (none)) => {
        Some(Self::$v)
    };
}

/// The methods of a [`VersionedRequest`] impl from the enum's variants in index order.
#[macro_export]
macro_rules! request_variants {
    ($($v:ident),* $(,)?) => {
        fn index(&self) -> usize {
            let mut i = 0;
            $(
                if let Self::$v(_) = self {
                    return i;
                }
                i += 1;
            )*
            i
        }

        fn decode_variant<'v>(
            index: usize,
            d: &mut $crate::decode::Decoder<'v>,
            value: &'v $crate::decode::Node,
        ) -> Option<Self> {
            let mut i = 0;
            $(
                if index == i {
                    return $crate::decode::Decode::decode(d, value).map(Self::$v);
                }
                i += 1;
            )*
            let _ = i;
            d.fail("no such request variant")
        }
    };
}

/// The impls every generated client has: `struct Name(ServiceClient)` tied to its service,
/// with its constructors. The operations are in the generated `impl` beside it.
#[macro_export]
macro_rules! client {
    ($name:ident of $service:ty) => {
        impl $crate::client::GeneratedClient for $name {
            type Service = $service;
            fn from_service_client(inner: $crate::client::ServiceClient) -> Self {
                Self(inner)
            }
        }

        impl $name {
            /// Wraps a service client (endpoint, token, microversion).
            pub fn new(inner: $crate::client::ServiceClient) -> Self {
                Self(inner)
            }

            /// The same client at another microversion.
            pub fn with_microversion(self, version: $crate::version::ApiVersion) -> Self {
                Self(self.0.with_microversion(version))
            }

            /// The requested microversion.
            pub fn microversion(&self) -> $crate::version::ApiVersion {
                self.0.microversion()
            }

            /// The underlying service client.
            pub fn service_client(&self) -> &$crate::client::ServiceClient {
                &self.0
            }
        }
    };
}

/// Implements [`VersionedResponse`] for a response enum from its variants in index order;
/// `Variant(none)` is a version that answers without a body.
#[macro_export]
macro_rules! versioned_response {
    ($t:ident { $($rest:tt)* }) => {
        impl $crate::meta::VersionedResponse for $t {
            $crate::response_variants!($($rest)*);
        }
    };
}

/// Implements [`VersionedRequest`] for a request enum from its variants in index order, each
/// with the span of versions it is for.
#[macro_export]
macro_rules! versioned_request {
    ($t:ident of $service:path { $($v:ident = $span:expr),* $(,)? }) => {
        impl $crate::meta::VersionedRequest for $t {
            const NAME: &'static str = stringify!($t);
            const SERVICE: &'static $crate::meta::ServiceMeta = &$service;
            const SPANS: &'static [$crate::meta::Span] = &[$($span),*];
            $crate::request_variants!($($v),*);
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
