//! A server's host and libvirt instance name, from the compute API (admin attributes).

use squall_clients::compute::ServersClient;
use squall_clients::compute::servers::ShowServerResponse;

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

/// Reads the location out of a server-show answer; fails naming the missing attribute when the
/// caller is not an admin or the server is not scheduled yet.
pub fn location_of(server_id: &str, body: &ShowServerResponse) -> Result<ServerLocation> {
    let (host, instance_name, hypervisor) = match body {
        ShowServerResponse::V2_1(b) => (
            b.server.os_ext_srv_attr_host.clone(),
            b.server.os_ext_srv_attr_instance_name.clone(),
            b.server.os_ext_srv_attr_hypervisor_hostname.clone(),
        ),
        ShowServerResponse::V2_3(b) => (
            b.server.os_ext_srv_attr_host.clone(),
            b.server.os_ext_srv_attr_instance_name.clone(),
            b.server.os_ext_srv_attr_hypervisor_hostname.clone(),
        ),
    };
    let missing = |attribute: &'static str| Error::MissingAttribute {
        server_id: server_id.to_owned(),
        attribute,
    };
    Ok(ServerLocation {
        server_id: server_id.to_owned(),
        host: host.ok_or_else(|| missing("OS-EXT-SRV-ATTR:host"))?,
        instance_name: instance_name.ok_or_else(|| missing("OS-EXT-SRV-ATTR:instance_name"))?,
        hypervisor_hostname: hypervisor,
    })
}

/// Shows the server (at the client's microversion, 2.1 to 2.8; admin credentials) and returns
/// its host and instance name.
pub async fn server_location(servers: &ServersClient, server_id: &str) -> Result<ServerLocation> {
    let response = servers
        .show_server(server_id)
        .await
        .map_err(|source| Error::Api {
            context: format!("show server {server_id}"),
            source: Box::new(source),
        })?;
    location_of(server_id, &response.body)
}
