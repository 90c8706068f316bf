//! A server's host and libvirt instance name, from the compute API (admin attributes).

use serde_json::Value;
use squall_clients::compute::ServersClient;

use crate::error::{Error, Result};

/// Where a server runs, as the compute API tells an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLocation {
    /// The server id.
    pub server_id: String,
    /// `OS-EXT-SRV-ATTR:host`: the compute service's host (the inventory node name).
    pub host: String,
    /// `OS-EXT-SRV-ATTR:instance_name`: the libvirt domain name.
    pub instance_name: String,
    /// `OS-EXT-SRV-ATTR:hypervisor_hostname`.
    pub hypervisor_hostname: Option<String>,
}

/// Reads the location out of a server-show answer (its JSON body, whatever the microversion);
/// fails naming the missing attribute when the caller is not an admin or the server is not
/// scheduled yet.
pub fn location_of(server_id: &str, body: &Value) -> Result<ServerLocation> {
    let server = body.get("server");
    let text = |attribute: &str| {
        server
            .and_then(|s| s.get(attribute))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let missing = |attribute: &'static str| Error::MissingAttribute {
        server_id: server_id.to_owned(),
        attribute,
    };
    Ok(ServerLocation {
        server_id: server_id.to_owned(),
        host: text("OS-EXT-SRV-ATTR:host").ok_or_else(|| missing("OS-EXT-SRV-ATTR:host"))?,
        instance_name: text("OS-EXT-SRV-ATTR:instance_name")
            .ok_or_else(|| missing("OS-EXT-SRV-ATTR:instance_name"))?,
        hypervisor_hostname: text("OS-EXT-SRV-ATTR:hypervisor_hostname"),
    })
}

/// Shows the server (at the client's microversion, checked strictly; admin credentials) and
/// returns its host and instance name.
pub async fn server_location(servers: &ServersClient, server_id: &str) -> Result<ServerLocation> {
    let response = servers
        .show_server(server_id, None)
        .await
        .map_err(|source| Error::Api {
            context: format!("show server {server_id}"),
            source: Box::new(source),
        })?;
    // The runtime decoded and checked this body already, so it is JSON.
    let body: Value = serde_json::from_slice(&response.raw).unwrap_or(Value::Null);
    location_of(server_id, &body)
}
