//! The Nova database over the MySQL protocol: parameterised queries only, optionally through an
//! SSH tunnel via a control-plane host, and typed helpers for the tables NFV tests read.

use std::collections::BTreeMap;

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{OptsBuilder, Params, Pool};
use serde_json::Value;

use crate::cpuset::CpuSet;
use crate::error::{Error, Result};
use crate::ssh::{SshClient, Tunnel};

/// Where the database is, as seen from the test (or, with a tunnel, from the SSH host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbConfig {
    /// The server's host name or address.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
    /// The database (Nova's cell database for the typed helpers).
    pub database: String,
}

/// A connection pool to one database.
#[derive(Debug)]
pub struct Database {
    pool: Pool,
    target: String,
    tunnel: Option<Tunnel>,
}

impl Database {
    /// Connects directly, and checks the connection with a first query.
    pub async fn connect(config: &DbConfig) -> Result<Self> {
        let target = format!(
            "{}@{}:{}/{}",
            config.user, config.host, config.port, config.database
        );
        Self::open(config, &config.host, config.port, target, None).await
    }

    /// Connects through an SSH tunnel: `config.host:config.port` is reached from the host behind
    /// `ssh` (a control-plane host), as with whitebox-tempest-plugin's sshtunnel.
    pub async fn connect_via(config: &DbConfig, ssh: &SshClient) -> Result<Self> {
        let tunnel = ssh.tunnel(&config.host, config.port).await?;
        let local = tunnel.local_addr();
        let target = format!(
            "{}@{}:{}/{} via ssh {}",
            config.user,
            config.host,
            config.port,
            config.database,
            ssh.host()
        );
        Self::open(
            config,
            &local.ip().to_string(),
            local.port(),
            target,
            Some(tunnel),
        )
        .await
    }

    async fn open(
        config: &DbConfig,
        host: &str,
        port: u16,
        target: String,
        tunnel: Option<Tunnel>,
    ) -> Result<Self> {
        let opts = OptsBuilder::default()
            .ip_or_hostname(host.to_owned())
            .tcp_port(port)
            .user(Some(config.user.clone()))
            .pass(Some(config.password.clone()))
            .db_name(Some(config.database.clone()))
            // Never switch to a local socket: through a tunnel that would bypass it.
            .prefer_socket(false);
        let db = Self {
            pool: Pool::new(opts),
            target,
            tunnel,
        };
        let _: Vec<i64> = db.query("SELECT 1", ()).await?;
        tracing::debug!(target = %db.target, "database connected");
        Ok(db)
    }

    /// `user@host:port/database` (and the tunnel), as errors show it.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// The SSH tunnel, when connected through one.
    pub fn tunnel(&self) -> Option<&Tunnel> {
        self.tunnel.as_ref()
    }

    /// Runs a parameterised query. The SQL is a `'static` string so that values can only
    /// travel as parameters (`?` placeholders), never by formatting them into the text.
    pub async fn query<T>(
        &self,
        sql: &'static str,
        params: impl Into<Params> + Send,
    ) -> Result<Vec<T>>
    where
        T: FromRow + Send + 'static,
    {
        let error = |source| Error::Database {
            target: self.target.clone(),
            context: sql.to_owned(),
            source: Box::new(source),
        };
        let mut conn = self.pool.get_conn().await.map_err(error)?;
        tracing::debug!(target = %self.target, %sql, "query");
        conn.exec(sql, params).await.map_err(error)
    }

    /// Closes the pool's connections.
    pub async fn disconnect(self) -> Result<()> {
        let target = self.target.clone();
        self.pool
            .disconnect()
            .await
            .map_err(|source| Error::Database {
                target,
                context: "disconnect".to_owned(),
                source: Box::new(source),
            })
    }

    fn value_error(
        &self,
        table: &'static str,
        column: &'static str,
        reason: impl Into<String>,
    ) -> Error {
        Error::DatabaseValue {
            target: self.target.clone(),
            table,
            column,
            reason: reason.into(),
        }
    }

    /// The compute nodes (not deleted), with their parsed NUMA topology.
    pub async fn compute_nodes(&self) -> Result<Vec<ComputeNode>> {
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
            i64,
            i64,
            i64,
            Option<String>,
        );
        let rows: Vec<Row> = self
            .query(
                "SELECT id, uuid, host, hypervisor_hostname, vcpus, vcpus_used, memory_mb, \
                 memory_mb_used, numa_topology FROM compute_nodes WHERE deleted = 0 ORDER BY id",
                (),
            )
            .await?;
        rows.into_iter()
            .map(
                |(
                    id,
                    uuid,
                    host,
                    hypervisor_hostname,
                    vcpus,
                    vcpus_used,
                    memory_mb,
                    memory_mb_used,
                    numa,
                )| {
                    let numa_topology =
                        match numa.as_deref().filter(|t| !t.is_empty()) {
                            None => None,
                            Some(text) => Some(HostNumaTopology::from_json(text).map_err(|e| {
                                self.value_error("compute_nodes", "numa_topology", e)
                            })?),
                        };
                    Ok(ComputeNode {
                        id,
                        uuid,
                        host,
                        hypervisor_hostname,
                        vcpus,
                        vcpus_used,
                        memory_mb,
                        memory_mb_used,
                        numa_topology,
                    })
                },
            )
            .collect()
    }

    /// The PCI devices of a compute node (by `compute_nodes.id`), not deleted.
    pub async fn pci_devices(&self, compute_node_id: i64) -> Result<Vec<PciDevice>> {
        let rows: Vec<PciRow> = self
            .query(
                "SELECT id, compute_node_id, address, vendor_id, product_id, dev_type, status, \
                 instance_uuid, numa_node, parent_addr FROM pci_devices \
                 WHERE deleted = 0 AND compute_node_id = ? ORDER BY id",
                (compute_node_id,),
            )
            .await?;
        Ok(rows.into_iter().map(PciDevice::from).collect())
    }

    /// The PCI devices allocated to an instance.
    pub async fn pci_devices_of_instance(&self, instance_uuid: &str) -> Result<Vec<PciDevice>> {
        let rows: Vec<PciRow> = self
            .query(
                "SELECT id, compute_node_id, address, vendor_id, product_id, dev_type, status, \
                 instance_uuid, numa_node, parent_addr FROM pci_devices \
                 WHERE deleted = 0 AND instance_uuid = ? ORDER BY id",
                (instance_uuid,),
            )
            .await?;
        Ok(rows.into_iter().map(PciDevice::from).collect())
    }

    /// `instance_extra.numa_topology` of an instance, parsed; `None` when the instance has
    /// no NUMA topology (or no row).
    pub async fn instance_numa_topology(
        &self,
        instance_uuid: &str,
    ) -> Result<Option<InstanceNumaTopology>> {
        let rows: Vec<Option<String>> = self
            .query(
                "SELECT numa_topology FROM instance_extra WHERE deleted = 0 AND instance_uuid = ?",
                (instance_uuid,),
            )
            .await?;
        match rows.into_iter().next().flatten().filter(|t| !t.is_empty()) {
            None => Ok(None),
            Some(text) => InstanceNumaTopology::from_json(&text)
                .map(Some)
                .map_err(|e| self.value_error("instance_extra", "numa_topology", e)),
        }
    }
}

type PciRow = (
    i64,
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<String>,
);

/// A row of `compute_nodes`.
#[derive(Debug, Clone, PartialEq)]
pub struct ComputeNode {
    /// `id`.
    pub id: i64,
    /// `uuid`.
    pub uuid: Option<String>,
    /// `host`: the compute service's host.
    pub host: Option<String>,
    /// `hypervisor_hostname`.
    pub hypervisor_hostname: Option<String>,
    /// `vcpus`.
    pub vcpus: i64,
    /// `vcpus_used`.
    pub vcpus_used: i64,
    /// `memory_mb`.
    pub memory_mb: i64,
    /// `memory_mb_used`.
    pub memory_mb_used: i64,
    /// `numa_topology`, parsed.
    pub numa_topology: Option<HostNumaTopology>,
}

/// A row of `pci_devices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciDevice {
    /// `id`.
    pub id: i64,
    /// `compute_node_id`.
    pub compute_node_id: i64,
    /// `address` (`0000:81:00.1`).
    pub address: String,
    /// `vendor_id`.
    pub vendor_id: String,
    /// `product_id`.
    pub product_id: String,
    /// `dev_type` (`type-PCI`, `type-PF`, `type-VF`, ...).
    pub dev_type: String,
    /// `status` (`available`, `claimed`, `allocated`, ...).
    pub status: String,
    /// `instance_uuid`: the owner, when allocated.
    pub instance_uuid: Option<String>,
    /// `numa_node`.
    pub numa_node: Option<i64>,
    /// `parent_addr`: the PF of a VF.
    pub parent_addr: Option<String>,
}

impl From<PciRow> for PciDevice {
    fn from(row: PciRow) -> Self {
        let (
            id,
            compute_node_id,
            address,
            vendor_id,
            product_id,
            dev_type,
            status,
            instance_uuid,
            numa_node,
            parent_addr,
        ) = row;
        Self {
            id,
            compute_node_id,
            address,
            vendor_id,
            product_id,
            dev_type,
            status,
            instance_uuid,
            numa_node,
            parent_addr,
        }
    }
}

/// An instance's NUMA topology (`InstanceNUMATopology`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceNumaTopology {
    /// The guest NUMA cells.
    pub cells: Vec<InstanceNumaCell>,
}

/// A guest NUMA cell (`InstanceNUMACell`).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceNumaCell {
    /// The cell id.
    pub id: u32,
    /// Floating (shared) guest vCPUs.
    pub cpuset: CpuSet,
    /// Pinned (dedicated) guest vCPUs.
    pub pcpuset: CpuSet,
    /// Memory in MiB.
    pub memory_mb: Option<u64>,
    /// The page size in KiB, when set.
    pub pagesize_kib: Option<u64>,
    /// `dedicated`, `shared`, `mixed`.
    pub cpu_policy: Option<String>,
    /// Guest vCPU to host CPU.
    pub cpu_pinning: BTreeMap<u32, u32>,
}

impl InstanceNumaTopology {
    /// Parses the JSON Nova stores (an oslo.versionedobjects primitive).
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let cells = ovo_data(&value, "InstanceNUMATopology")?
            .get("cells")
            .and_then(Value::as_array)
            .ok_or("no cells")?
            .iter()
            .map(|cell| {
                let data = ovo_data(cell, "InstanceNUMACell")?;
                let pinning = data
                    .get("cpu_pinning_raw")
                    .and_then(Value::as_object)
                    .map(|map| {
                        map.iter()
                            .map(|(k, v)| {
                                let vcpu = k.parse::<u32>().map_err(|_| format!("vCPU {k:?}"))?;
                                let cpu = v
                                    .as_u64()
                                    .and_then(|c| u32::try_from(c).ok())
                                    .ok_or(format!("host CPU {v}"))?;
                                Ok((vcpu, cpu))
                            })
                            .collect::<std::result::Result<BTreeMap<_, _>, String>>()
                    })
                    .transpose()?
                    .unwrap_or_default();
                Ok(InstanceNumaCell {
                    id: u32_field(data, "id")?,
                    cpuset: cpus_field(data, "cpuset")?,
                    pcpuset: cpus_field(data, "pcpuset")?,
                    memory_mb: data.get("memory").and_then(Value::as_u64),
                    pagesize_kib: data.get("pagesize").and_then(Value::as_u64),
                    cpu_policy: data
                        .get("cpu_policy")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    cpu_pinning: pinning,
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(Self { cells })
    }

    /// The host CPUs the instance is pinned to, all cells together.
    pub fn pinned_host_cpus(&self) -> CpuSet {
        self.cells
            .iter()
            .flat_map(|c| c.cpu_pinning.values().copied())
            .collect()
    }
}

/// A host's NUMA topology (`NUMATopology` in `compute_nodes.numa_topology`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostNumaTopology {
    /// The host NUMA cells.
    pub cells: Vec<HostNumaCell>,
}

/// A host NUMA cell (`NUMACell`).
#[derive(Debug, Clone, PartialEq)]
pub struct HostNumaCell {
    /// The cell id.
    pub id: u32,
    /// Shared CPUs.
    pub cpuset: CpuSet,
    /// Dedicated CPUs.
    pub pcpuset: CpuSet,
    /// Dedicated CPUs in use.
    pub pinned_cpus: CpuSet,
    /// Memory in MiB.
    pub memory_mb: Option<u64>,
}

impl HostNumaTopology {
    /// Parses the JSON Nova stores (an oslo.versionedobjects primitive).
    pub fn from_json(text: &str) -> std::result::Result<Self, String> {
        let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let cells = ovo_data(&value, "NUMATopology")?
            .get("cells")
            .and_then(Value::as_array)
            .ok_or("no cells")?
            .iter()
            .map(|cell| {
                let data = ovo_data(cell, "NUMACell")?;
                Ok(HostNumaCell {
                    id: u32_field(data, "id")?,
                    cpuset: cpus_field(data, "cpuset")?,
                    pcpuset: cpus_field(data, "pcpuset")?,
                    pinned_cpus: cpus_field(data, "pinned_cpus")?,
                    memory_mb: data.get("memory").and_then(Value::as_u64),
                })
            })
            .collect::<std::result::Result<_, String>>()?;
        Ok(Self { cells })
    }
}

fn ovo_data<'a>(value: &'a Value, name: &str) -> std::result::Result<&'a Value, String> {
    match value.get("nova_object.name").and_then(Value::as_str) {
        Some(found) if found == name => {}
        other => return Err(format!("expected a {name} object, found {other:?}")),
    }
    value
        .get("nova_object.data")
        .ok_or_else(|| format!("{name} without nova_object.data"))
}

fn u32_field(data: &Value, field: &str) -> std::result::Result<u32, String> {
    data.get(field)
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("{field} is not a small integer"))
}

fn cpus_field(data: &Value, field: &str) -> std::result::Result<CpuSet, String> {
    match data.get(field) {
        None | Some(Value::Null) => Ok(CpuSet::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_u64()
                    .and_then(|c| u32::try_from(c).ok())
                    .ok_or_else(|| format!("{field}: {v} is not a CPU id"))
            })
            .collect(),
        Some(other) => Err(format!("{field}: {other} is not a list of CPUs")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_instance_numa_topology_primitive() {
        let text = r#"{"nova_object.name": "InstanceNUMATopology", "nova_object.data": {"cells": [
            {"nova_object.name": "InstanceNUMACell", "nova_object.data": {"id": 0, "cpuset": [],
             "pcpuset": [0, 1], "memory": 1024, "pagesize": 2048,
             "cpu_pinning_raw": {"0": 2, "1": 3}, "cpu_policy": "dedicated"}}]}}"#;
        let topo = InstanceNumaTopology::from_json(text).unwrap();
        assert_eq!(topo.cells[0].pcpuset.to_string(), "0-1");
        assert_eq!(topo.pinned_host_cpus().to_string(), "2-3");
        assert_eq!(topo.cells[0].pagesize_kib, Some(2048));
        let err =
            InstanceNumaTopology::from_json(r#"{"nova_object.name": "NUMATopology"}"#).unwrap_err();
        assert!(err.contains("expected a InstanceNUMATopology"), "{err}");
    }
}
