//! The spec format: typed views of `service.yaml` and the group files, with a JSON Schema for
//! editors (see [`format_schema`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `specs/<service>/service.yaml`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceFile {
    /// squall's name for the service; the generated module's name.
    pub service: String,
    /// The Keystone catalog type.
    pub catalog_type: String,
    /// One line about the service.
    #[serde(default)]
    pub summary: Option<String>,
    /// `false` for a service without microversions (Keystone): then the version fields and
    /// headers are left out, the tree has one folder named after the API version (`v3/`), and
    /// no operation sends or checks a version header.
    #[serde(default = "yes")]
    pub microversions: bool,
    /// The lowest microversion of the service.
    #[serde(default)]
    pub min_version: String,
    /// The highest microversion of the service.
    #[serde(default)]
    pub max_version: String,
    /// The version the server assumes when no header is sent.
    #[serde(default)]
    pub default_version: String,
    /// How the microversion travels in headers.
    #[serde(default)]
    pub microversion_headers: MicroversionHeaders,
    /// Where the version document lives.
    pub version_document: VersionDocument,
}

/// The request and response microversion headers of a service.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MicroversionHeaders {
    /// Headers sent on every request that asks for a version (all of them are sent).
    pub request: Vec<Header>,
    /// The header the answered version is read from.
    pub response: Header,
}

/// One header and the format of its value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The header name.
    pub name: String,
    /// The value, with `{version}` where the version goes.
    pub format: String,
}

/// Where a service's version document lives.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VersionDocument {
    /// Path appended to the service root.
    pub path: String,
    /// Strip a trailing version segment (`/v2.1`) from the catalog URL first.
    #[serde(default)]
    pub strip_version_suffix: bool,
}

/// A group's base definition: `specs/<service>/<version>/<group>.yaml` with operations.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupFile {
    /// What the group is; rustdoc of its client.
    #[serde(default)]
    pub summary: Option<String>,
    /// Operations by snake_case name.
    #[serde(default)]
    pub operations: BTreeMap<String, Operation>,
    /// Named JSON Schemas, referenced as `#/schemas/<Name>`.
    #[serde(default)]
    #[schemars(with = "BTreeMap<String, serde_json::Value>")]
    pub schemas: BTreeMap<String, serde_json::Value>,
}

/// A later version's changes to a group.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeFile {
    /// The change in words.
    #[serde(default)]
    pub summary: Option<String>,
    /// JSON Patch operations on the group document, applied in order.
    pub changes: Vec<Change>,
}

/// One JSON Patch operation.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum Change {
    /// Adds a member or array item (`/-` appends).
    Add {
        /// Where.
        path: String,
        /// What.
        #[schemars(with = "serde_json::Value")]
        value: serde_json::Value,
    },
    /// Replaces an existing value.
    Replace {
        /// Where.
        path: String,
        /// The new value.
        #[schemars(with = "serde_json::Value")]
        value: serde_json::Value,
    },
    /// Removes an existing value.
    Remove {
        /// Where.
        path: String,
    },
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// One line about the operation; rustdoc of its method.
    #[serde(default)]
    pub summary: Option<String>,
    /// The HTTP method.
    pub method: Method,
    /// The path template; `{name}` parameters become arguments.
    pub path: String,
    /// JSON Schema of the query parameters (an object).
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub query: Option<serde_json::Value>,
    /// JSON Schema of the request body.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub request: Option<serde_json::Value>,
    /// The successful response.
    pub response: ResponseSpec,
    /// Expected error statuses.
    #[serde(default)]
    pub errors: Vec<u16>,
    /// The path is relative to the service root rather than the catalog endpoint.
    #[serde(default)]
    pub root: bool,
    /// Whether microversion headers are sent and checked (default true).
    #[serde(default = "yes")]
    pub versioned: bool,
    /// Request headers the caller supplies: header name -> argument name
    /// (`X-Subject-Token: subject_token`).
    #[serde(default)]
    pub request_headers: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// HTTP methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[allow(missing_docs)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// The successful response of an operation.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseSpec {
    /// Success status code(s).
    pub status: Vec<u16>,
    /// JSON Schema of the body; absent means no body.
    #[serde(default)]
    #[schemars(with = "Option<serde_json::Value>")]
    pub body: Option<serde_json::Value>,
    /// Response headers that matter.
    #[serde(default)]
    pub headers: Vec<String>,
}

/// Any file in a spec tree, for the published JSON Schema.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum AnySpecFile {
    /// `service.yaml`.
    Service(ServiceFile),
    /// A later version's changes.
    Changes(ChangeFile),
    /// A group's base definition.
    Group(GroupFile),
}

/// The JSON Schema of the spec format, for editors.
pub fn format_schema() -> String {
    let schema = schemars::schema_for!(AnySpecFile);
    serde_json::to_string_pretty(&schema).unwrap_or_default() + "\n"
}
