//! squall-whitebox: look behind the API, as whitebox-tempest-plugin does for Tempest.
//!
//! - [`inventory`]: the YAML nodes file (addresses, services, CPU sets, SSH, sudo, containers).
//! - [`ssh`]: commands over one reused SSH connection per host, with timeouts and host key
//!   checking; file reads, atomic writes and TCP tunnels.
//! - [`libvirt`]: `virsh dumpxml`, `capabilities`, `domblklist`, and a typed domain model.
//! - [`pinning`]: the dedicated-CPU pinning check.
//! - [`db`]: the Nova database over the MySQL protocol, optionally through an SSH tunnel.
//! - [`ini`] and [`config`]: nova.conf-dialect INI editing with a restoring guard.
//! - [`services`]: service start/stop/restart and waiting on Nova's services API.
//! - [`compute`]: a server's host and libvirt instance name from the compute API.
//!
//! [`Whitebox`] ties them together for one inventory:
//!
//! ```no_run
//! use std::time::Duration;
//! use squall_clients::compute::{ServersClient, ServicesClient};
//! use squall_whitebox::{Whitebox, ServiceState, services::wait_for_compute};
//!
//! async fn pinned(servers: ServersClient, services: ServicesClient, id: &str)
//!     -> squall_whitebox::Result<()> {
//!     let wb = Whitebox::from_file("nodes.yaml")?;
//!     // Host and instance name from the compute API (admin, 2.1-2.8), then `virsh dumpxml`.
//!     let (location, domain) = wb.server_domain(&servers, id).await?;
//!     let dedicated = &wb.inventory().node(&location.host)?.cpu_sets.dedicated;
//!     squall_whitebox::check_pinning(&[&domain], dedicated)?;
//!
//!     // Change nova.conf for one test; the guard puts the file back byte for byte and restarts
//!     // nova-compute when dropped, also if the test panics.
//!     let guard = wb.config(&location.host, "nova-compute")?.guard().await?;
//!     guard.set("compute", "cpu_dedicated_set", "4-15").await?;
//!     wb.service(&location.host, "nova-compute")?.restart().await?;
//!     wait_for_compute(&services, &location.host, ServiceState::Up, Duration::from_secs(120)).await?;
//!     Ok(())
//! }
//! ```

#![warn(missing_docs)]

pub mod compute;
pub mod config;
pub mod cpuset;
pub mod db;
pub mod error;
pub mod ini;
pub mod inventory;
pub mod libvirt;
pub mod pinning;
pub mod services;
pub mod shell;
pub mod ssh;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use squall_clients::compute::ServersClient;

pub use compute::ServerLocation;
pub use config::{ConfigGuard, FileMeta, RemoteConfig};
pub use cpuset::CpuSet;
pub use db::{Database, DbConfig};
pub use error::{Error, Result};
pub use inventory::Inventory;
pub use libvirt::{Domain, Virsh};
pub use pinning::{PinningError, PinningViolation, check_pinning};
pub use services::{ServiceControl, ServiceState};
pub use ssh::{HostKeyPolicy, Output, SshClient, Tunnel};

/// The whitebox clients for one inventory: one SSH connection per host, shared by everything.
#[derive(Debug)]
pub struct Whitebox {
    inventory: Inventory,
    executor: Arc<ssh::Executor>,
    clients: Mutex<BTreeMap<String, SshClient>>,
}

impl Whitebox {
    /// Whitebox clients for `inventory`.
    pub fn new(inventory: Inventory) -> Result<Self> {
        Ok(Self {
            inventory,
            executor: ssh::Executor::new()?,
            clients: Mutex::new(BTreeMap::new()),
        })
    }

    /// Reads the inventory from a YAML nodes file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        Self::new(Inventory::from_file(path)?)
    }

    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The SSH client of `host` (created on first use, then shared).
    pub fn ssh(&self, host: &str) -> Result<SshClient> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(client) = clients.get(host) {
            return Ok(client.clone());
        }
        let client = SshClient::with_executor(&self.inventory, host, self.executor.clone())?;
        clients.insert(host.to_owned(), client.clone());
        Ok(client)
    }

    /// `virsh` on `host`.
    pub fn virsh(&self, host: &str) -> Result<Virsh> {
        Virsh::new(&self.inventory, host, self.ssh(host)?)
    }

    /// The config file of `service` on `host`; its guard restarts the service after restoring.
    pub fn config(&self, host: &str, service: &str) -> Result<RemoteConfig> {
        let entry = self.inventory.service(host, service)?;
        let path = entry.require(&entry.config_path, host, service, "config_path")?;
        let restart = entry
            .restart
            .as_deref()
            .map(|command| self.inventory.wrap(None, command));
        Ok(RemoteConfig::new(self.ssh(host)?, path, restart))
    }

    /// Restores every config file of the inventory that a killed test left with a journal
    /// (see [`config`]), restarting its service; returns the `host:path` of
    /// each file restored. Call it once when a whitebox suite starts.
    pub async fn recover(&self) -> Result<Vec<String>> {
        let mut restored = Vec::new();
        for (host, node) in &self.inventory.nodes {
            for (name, entry) in &node.services {
                if entry.config_path.is_none() {
                    continue;
                }
                let config = self.config(host, name)?;
                if config.recover().await? {
                    restored.push(format!("{host}:{}", config.path()));
                }
            }
        }
        Ok(restored)
    }

    /// Start/stop/restart of `service` on `host`.
    pub fn service(&self, host: &str, service: &str) -> Result<ServiceControl> {
        ServiceControl::new(&self.inventory, host, service, self.ssh(host)?)
    }

    /// The libvirt domain of a server: its host and instance name from the compute API
    /// (admin), then `virsh dumpxml` on that host.
    pub async fn server_domain(
        &self,
        servers: &ServersClient,
        server_id: &str,
    ) -> Result<(ServerLocation, Domain)> {
        let location = compute::server_location(servers, server_id).await?;
        let domain = self
            .virsh(&location.host)?
            .dumpxml(&location.instance_name)
            .await?;
        Ok((location, domain))
    }

    /// Dumps the named domains on `host` and checks their pinning against the host's dedicated
    /// CPU set from the inventory; returns the host CPUs they use.
    pub async fn check_host_pinning(&self, host: &str, domains: &[&str]) -> Result<CpuSet> {
        let dedicated = self.inventory.node(host)?.cpu_sets.dedicated.clone();
        let virsh = self.virsh(host)?;
        let mut parsed = Vec::new();
        for name in domains {
            parsed.push(virsh.dumpxml(name).await?);
        }
        let refs: Vec<&Domain> = parsed.iter().collect();
        Ok(check_pinning(&refs, &dedicated)?)
    }
}
