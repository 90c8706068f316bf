//! The host inventory: a YAML nodes file with one entry per host.
//!
//! ```yaml
//! ssh:
//!   user: root
//!   key: /home/me/.ssh/id_ed25519
//!   port: 22
//!   known_hosts: /home/me/.ssh/known_hosts   # default: ~/.ssh/known_hosts
//!   connect_timeout_secs: 10
//!   command_timeout_secs: 120
//! container_runtime: podman                  # or docker
//! sudo: true
//! nodes:
//!   compute-0:                               # the host name Nova reports
//!     address: 192.0.2.10                    # control-plane address
//!     host_key: ssh-ed25519 AAAA...          # optional: pin the host key
//!     libvirt_uri: qemu:///system
//!     cpu_sets: {shared: "0-1", dedicated: "2-7"}
//!     services:
//!       nova-compute:
//!         config_path: /etc/nova/nova.conf
//!         start: systemctl start nova-compute
//!         stop: systemctl stop nova-compute
//!         restart: systemctl restart nova-compute
//!         container: nova_compute            # optional: commands run through `podman exec`
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cpuset::CpuSet;
use crate::error::{Error, Result};
use crate::shell;

/// The whole inventory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// SSH settings shared by all hosts.
    pub ssh: SshSettings,
    /// The container runtime that wraps commands of containerised services.
    #[serde(default)]
    pub container_runtime: ContainerRuntime,
    /// Whether commands run through `sudo -n`.
    #[serde(default)]
    pub sudo: bool,
    /// The hosts, by the name Nova knows them by (`OS-EXT-SRV-ATTR:host`).
    pub nodes: BTreeMap<String, Node>,
}

/// How to reach the hosts over SSH.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSettings {
    /// The user to log in as.
    pub user: String,
    /// The private key file (OpenSSH format, unencrypted).
    pub key: PathBuf,
    /// The default port.
    #[serde(default = "default_port")]
    pub port: u16,
    /// The known_hosts file that host keys are checked against; `~/.ssh/known_hosts` when
    /// absent. A node's `host_key` pins its key instead.
    #[serde(default)]
    pub known_hosts: Option<PathBuf>,
    /// Accept any host key. Off by default; logged loudly when on.
    #[serde(default)]
    pub insecure_accept_any_host_key: bool,
    /// Connection (TCP + handshake + auth) timeout in seconds.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout_secs: u64,
    /// Default timeout of a command in seconds.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_secs: u64,
}

fn default_port() -> u16 {
    22
}
fn default_connect_timeout() -> u64 {
    10
}
fn default_command_timeout() -> u64 {
    120
}

impl SshSettings {
    /// The connection timeout.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }

    /// The default command timeout.
    pub fn command_timeout(&self) -> Duration {
        Duration::from_secs(self.command_timeout_secs)
    }
}

/// The container runtime used to run a command inside a service's container.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerRuntime {
    /// `podman exec`.
    #[default]
    Podman,
    /// `docker exec`.
    Docker,
}

impl ContainerRuntime {
    /// The runtime's command name.
    pub fn command(self) -> &'static str {
        match self {
            ContainerRuntime::Podman => "podman",
            ContainerRuntime::Docker => "docker",
        }
    }
}

/// One host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The control-plane address SSH connects to.
    pub address: String,
    /// The SSH port, when not the inventory's default.
    #[serde(default)]
    pub port: Option<u16>,
    /// The host's public key (`ssh-ed25519 AAAA...`), pinned instead of known_hosts.
    #[serde(default)]
    pub host_key: Option<String>,
    /// The libvirt connection URI `virsh -c` uses on this host.
    #[serde(default = "default_libvirt_uri")]
    pub libvirt_uri: String,
    /// The host's CPU sets.
    #[serde(default)]
    pub cpu_sets: CpuSets,
    /// The services on this host, by name (`nova-compute`, `libvirt`, ...).
    #[serde(default)]
    pub services: BTreeMap<String, ServiceEntry>,
}

fn default_libvirt_uri() -> String {
    "qemu:///system".to_owned()
}

/// A host's CPU sets, as in Nova's `[compute] cpu_shared_set` and `cpu_dedicated_set`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuSets {
    /// CPUs for floating (shared) vCPUs.
    #[serde(default)]
    pub shared: CpuSet,
    /// CPUs for pinned (dedicated) vCPUs.
    #[serde(default)]
    pub dedicated: CpuSet,
}

/// A service on a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceEntry {
    /// The service's INI config file on the host.
    #[serde(default)]
    pub config_path: Option<String>,
    /// The command that starts the service.
    #[serde(default)]
    pub start: Option<String>,
    /// The command that stops the service.
    #[serde(default)]
    pub stop: Option<String>,
    /// The command that restarts the service.
    #[serde(default)]
    pub restart: Option<String>,
    /// The container the service runs in; commands *inside* the service (e.g. `virsh`) are
    /// wrapped in `<runtime> exec <container>`.
    #[serde(default)]
    pub container: Option<String>,
}

impl Inventory {
    /// Reads a YAML nodes file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::Inventory {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses YAML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self> {
        let inventory: Inventory = serde_yaml::from_str(text).map_err(|e| Error::Inventory {
            path: origin.to_owned(),
            reason: e.to_string(),
        })?;
        for (name, node) in &inventory.nodes {
            if let Some(key) = &node.host_key {
                russh::keys::PublicKey::from_openssh(key).map_err(|e| Error::Inventory {
                    path: origin.to_owned(),
                    reason: format!("nodes.{name}.host_key: {e}"),
                })?;
            }
        }
        Ok(inventory)
    }

    /// The node called `host`.
    pub fn node(&self, host: &str) -> Result<&Node> {
        self.nodes.get(host).ok_or_else(|| Error::UnknownHost {
            host: host.to_owned(),
            known: self.nodes.keys().cloned().collect::<Vec<_>>().join(", "),
        })
    }

    /// The service `service` of `host`.
    pub fn service(&self, host: &str, service: &str) -> Result<&ServiceEntry> {
        let node = self.node(host)?;
        node.services
            .get(service)
            .ok_or_else(|| Error::UnknownService {
                host: host.to_owned(),
                service: service.to_owned(),
                known: node.services.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Wraps `command` for running on a host: inside the service's container when it has one,
    /// then under `sudo -n` when configured.
    pub fn wrap(&self, service: Option<&ServiceEntry>, command: &str) -> String {
        let mut command = command.to_owned();
        if let Some(container) = service.and_then(|s| s.container.as_deref()) {
            command = format!(
                "{} exec {} sh -c {}",
                self.container_runtime.command(),
                shell::quote(container),
                shell::quote(&command)
            );
        }
        if self.sudo {
            command = format!("sudo -n sh -c {}", shell::quote(&command));
        }
        command
    }
}

impl ServiceEntry {
    /// The setting `what` of this service, or an error naming host and service.
    pub(crate) fn require<'a>(
        &self,
        value: &'a Option<String>,
        host: &str,
        service: &str,
        what: &'static str,
    ) -> Result<&'a str> {
        value.as_deref().ok_or_else(|| Error::MissingSetting {
            host: host.to_owned(),
            service: service.to_owned(),
            what,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
ssh: {user: stack, key: /tmp/key}
container_runtime: docker
sudo: true
nodes:
  compute-0:
    address: 192.0.2.10
    cpu_sets: {shared: "0-1", dedicated: "2-5,^4"}
    services:
      libvirt: {container: nova_libvirt}
      nova-compute: {config_path: /etc/nova/nova.conf, restart: systemctl restart nova-compute}
"#;

    #[test]
    fn parses_nodes_and_wraps_commands() {
        let inv = Inventory::parse(YAML, "test").unwrap();
        let node = inv.node("compute-0").unwrap();
        assert_eq!(node.cpu_sets.dedicated.to_string(), "2-3,5");
        assert_eq!(inv.ssh.port, 22);
        let libvirt = inv.service("compute-0", "libvirt").unwrap();
        assert_eq!(
            inv.wrap(Some(libvirt), "virsh list"),
            "sudo -n sh -c 'docker exec nova_libvirt sh -c '\\''virsh list'\\'''"
        );
    }

    #[test]
    fn missing_host_and_service_are_named() {
        let inv = Inventory::parse(YAML, "test").unwrap();
        let err = inv
            .service("compute-0", "nova-api")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("nova-api") && err.contains("libvirt, nova-compute"),
            "{err}"
        );
        let err = inv.node("compute-9").unwrap_err().to_string();
        assert!(
            err.contains("compute-9") && err.contains("compute-0"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_fields() {
        let err = Inventory::parse("ssh: {user: a, key: b, colour: red}\nnodes: {}", "x.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.yaml") && err.contains("colour"), "{err}");
    }
}
