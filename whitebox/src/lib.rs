//! squall-whitebox: look behind the API, as whitebox-tempest-plugin does for Tempest.
//!
//! - [`inventory`]: the YAML nodes file (addresses, services, CPU sets, SSH, sudo, containers).
//! - [`ssh`]: commands over one reused SSH connection per host, with timeouts and host key
//!   checking.
//! - [`libvirt`]: `virsh dumpxml`, `capabilities`, `domblklist`, and a typed domain model.
//! - [`pinning`]: the dedicated-CPU pinning check.
//! - [`db`]: the Nova database over the MySQL protocol, optionally through an SSH tunnel.
//! - [`ini`] and [`config`]: nova.conf-dialect INI editing with a restoring guard.
//! - [`services`]: service start/stop/restart and waiting on Nova's services API.
//! - [`compute`]: a server's host and libvirt instance name from the compute API.

pub mod config;
pub mod cpuset;
pub mod error;
pub mod ini;
pub mod inventory;
pub mod libvirt;
pub mod pinning;
pub mod shell;
pub mod ssh;

pub use cpuset::CpuSet;
pub use error::{Error, Result};
pub use inventory::Inventory;
pub use ssh::{HostKeyPolicy, Output, SshClient, Tunnel};
