//! libvirt: `virsh dumpxml`, `capabilities` and `domblklist` on a host, and a typed model of
//! the domain XML parts NFV tests inspect. The raw XML stays available for everything else.

use roxmltree::{Document, Node as XmlNode};

use crate::cpuset::CpuSet;
use crate::error::{Error, Result};
use crate::inventory::{Inventory, ServiceEntry};
use crate::shell;
use crate::ssh::SshClient;

/// A libvirt domain: its XML and the typed parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Domain {
    xml: String,
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, if present.
    pub uuid: Option<String>,
    /// `<vcpu>`.
    pub vcpu: Option<Vcpu>,
    /// `<cputune>`.
    pub cputune: Option<CpuTune>,
    /// `<numatune>`.
    pub numatune: Option<NumaTune>,
    /// `<memoryBacking>`.
    pub memory_backing: Option<MemoryBacking>,
    /// The children of `<devices>`, in document order.
    pub devices: Vec<Device>,
}

/// `<vcpu placement=".." cpuset="..">N</vcpu>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Vcpu {
    /// The number of vCPUs.
    pub count: u32,
    /// `placement` (`static`, `auto`).
    pub placement: Option<String>,
    /// `cpuset`: the host CPUs the vCPUs may float on.
    pub cpuset: Option<CpuSet>,
}

/// `<cputune>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CpuTune {
    /// `<vcpupin vcpu=".." cpuset=".."/>`, in document order.
    pub vcpupins: Vec<VcpuPin>,
    /// `<emulatorpin cpuset=".."/>`.
    pub emulatorpin: Option<CpuSet>,
}

/// One `<vcpupin>`.
#[derive(Debug, Clone, PartialEq)]
pub struct VcpuPin {
    /// The guest vCPU.
    pub vcpu: u32,
    /// The host CPUs it is pinned to.
    pub cpuset: CpuSet,
}

/// `<numatune>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NumaTune {
    /// `<memory mode=".." nodeset=".."/>`.
    pub memory: Option<MemNode>,
    /// `<memnode cellid=".." mode=".." nodeset=".."/>`.
    pub memnodes: Vec<MemNode>,
}

/// A `<memnode>` (or `<memory>`, with no cell id) of `<numatune>`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemNode {
    /// `cellid`: the guest NUMA cell (absent for `<memory>`).
    pub cellid: Option<u32>,
    /// `mode` (`strict`, `preferred`, `interleave`, `restrictive`).
    pub mode: Option<String>,
    /// `nodeset`: host NUMA nodes.
    pub nodeset: Option<CpuSet>,
}

/// `<memoryBacking>`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemoryBacking {
    /// Whether `<hugepages>` is present.
    pub hugepages: bool,
    /// The `<page>` elements of `<hugepages>`.
    pub pages: Vec<HugePage>,
}

/// `<page size=".." unit=".." nodeset=".."/>`.
#[derive(Debug, Clone, PartialEq)]
pub struct HugePage {
    /// The page size.
    pub size: u64,
    /// Its unit (`KiB` when absent).
    pub unit: String,
    /// The guest NUMA nodes it backs.
    pub nodeset: Option<CpuSet>,
}

impl HugePage {
    /// The page size in KiB.
    pub fn size_kib(&self) -> Option<u64> {
        let factor = match self.unit.as_str() {
            "b" | "bytes" => return Some(self.size / 1024),
            "k" | "KiB" => 1,
            "KB" => return Some(self.size * 1000 / 1024),
            "M" | "MiB" => 1024,
            "G" | "GiB" => 1024 * 1024,
            _ => return None,
        };
        Some(self.size * factor)
    }
}

/// A child of `<devices>`: the attributes most tests look at.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The element name: `disk`, `interface`, `hostdev`, ...
    pub kind: String,
    /// The `type` attribute.
    pub type_: Option<String>,
    /// The `device` attribute (`disk`, `cdrom`) of disks.
    pub device: Option<String>,
    /// `<target dev="..">`.
    pub target: Option<String>,
    /// The first attribute of `<source>` among file, dev, network, bridge, path, pool.
    pub source: Option<String>,
    /// `<mac address="..">` of interfaces.
    pub mac: Option<String>,
    /// `<alias name="..">`.
    pub alias: Option<String>,
}

fn xml_error(source_name: &str, element: &str, reason: impl Into<String>) -> Error {
    Error::Xml {
        source_name: source_name.to_owned(),
        element: element.to_owned(),
        reason: reason.into(),
    }
}

fn child<'a, 'i>(node: XmlNode<'a, 'i>, name: &str) -> Option<XmlNode<'a, 'i>> {
    node.children().find(|c| c.has_tag_name(name))
}

fn children<'a, 'i>(node: XmlNode<'a, 'i>, name: &'a str) -> impl Iterator<Item = XmlNode<'a, 'i>> {
    node.children().filter(move |c| c.has_tag_name(name))
}

fn cpuset_attr(
    origin: &str,
    node: XmlNode<'_, '_>,
    element: &str,
    attr: &str,
) -> Result<Option<CpuSet>> {
    node.attribute(attr)
        .map(|text| {
            text.parse::<CpuSet>()
                .map_err(|e| xml_error(origin, &format!("{element} @{attr}"), e.to_string()))
        })
        .transpose()
}

fn number_attr<T: std::str::FromStr>(
    origin: &str,
    node: XmlNode<'_, '_>,
    element: &str,
    attr: &str,
) -> Result<Option<T>> {
    node.attribute(attr)
        .map(|text| {
            text.trim().parse::<T>().map_err(|_| {
                xml_error(
                    origin,
                    &format!("{element} @{attr}"),
                    format!("{text:?} is not a number"),
                )
            })
        })
        .transpose()
}

impl Domain {
    /// Parses domain XML (`virsh dumpxml` output); `origin` names it in errors.
    pub fn parse(xml: &str, origin: &str) -> Result<Self> {
        let doc = Document::parse(xml).map_err(|e| xml_error(origin, "domain", e.to_string()))?;
        let root = doc.root_element();
        if !root.has_tag_name("domain") {
            return Err(xml_error(
                origin,
                root.tag_name().name(),
                "the root element is not <domain>",
            ));
        }
        let name = child(root, "name")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
            .ok_or_else(|| xml_error(origin, "domain/name", "missing"))?;
        let origin = name.as_str();
        let uuid = child(root, "uuid")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned());
        let vcpu = child(root, "vcpu")
            .map(|node| -> Result<Vcpu> {
                let text = node.text().unwrap_or_default().trim();
                Ok(Vcpu {
                    count: text.parse().map_err(|_| {
                        xml_error(origin, "domain/vcpu", format!("{text:?} is not a count"))
                    })?,
                    placement: node.attribute("placement").map(str::to_owned),
                    cpuset: cpuset_attr(origin, node, "domain/vcpu", "cpuset")?,
                })
            })
            .transpose()?;
        let cputune = child(root, "cputune")
            .map(|node| -> Result<CpuTune> {
                let mut tune = CpuTune::default();
                for pin in children(node, "vcpupin") {
                    let element = "cputune/vcpupin";
                    tune.vcpupins.push(VcpuPin {
                        vcpu: number_attr(origin, pin, element, "vcpu")?
                            .ok_or_else(|| xml_error(origin, element, "no vcpu attribute"))?,
                        cpuset: cpuset_attr(origin, pin, element, "cpuset")?
                            .ok_or_else(|| xml_error(origin, element, "no cpuset attribute"))?,
                    });
                }
                if let Some(pin) = child(node, "emulatorpin") {
                    tune.emulatorpin = cpuset_attr(origin, pin, "cputune/emulatorpin", "cpuset")?;
                }
                Ok(tune)
            })
            .transpose()?;
        let memnode = |node: XmlNode<'_, '_>, element: &str| -> Result<MemNode> {
            Ok(MemNode {
                cellid: number_attr(origin, node, element, "cellid")?,
                mode: node.attribute("mode").map(str::to_owned),
                nodeset: cpuset_attr(origin, node, element, "nodeset")?,
            })
        };
        let numatune = child(root, "numatune")
            .map(|node| -> Result<NumaTune> {
                Ok(NumaTune {
                    memory: child(node, "memory")
                        .map(|m| memnode(m, "numatune/memory"))
                        .transpose()?,
                    memnodes: children(node, "memnode")
                        .map(|m| memnode(m, "numatune/memnode"))
                        .collect::<Result<_>>()?,
                })
            })
            .transpose()?;
        let memory_backing = child(root, "memoryBacking")
            .map(|node| -> Result<MemoryBacking> {
                let hugepages = child(node, "hugepages");
                let mut pages = Vec::new();
                for page in hugepages.iter().flat_map(|h| children(*h, "page")) {
                    let element = "memoryBacking/hugepages/page";
                    pages.push(HugePage {
                        size: number_attr(origin, page, element, "size")?
                            .ok_or_else(|| xml_error(origin, element, "no size attribute"))?,
                        unit: page.attribute("unit").unwrap_or("KiB").to_owned(),
                        nodeset: cpuset_attr(origin, page, element, "nodeset")?,
                    });
                }
                Ok(MemoryBacking {
                    hugepages: hugepages.is_some(),
                    pages,
                })
            })
            .transpose()?;
        let devices = child(root, "devices")
            .map(|node| {
                node.children()
                    .filter(XmlNode::is_element)
                    .map(|d| Device {
                        kind: d.tag_name().name().to_owned(),
                        type_: d.attribute("type").map(str::to_owned),
                        device: d.attribute("device").map(str::to_owned),
                        target: child(d, "target")
                            .and_then(|t| t.attribute("dev"))
                            .map(str::to_owned),
                        source: child(d, "source").and_then(|s| {
                            ["file", "dev", "network", "bridge", "path", "pool"]
                                .iter()
                                .find_map(|a| s.attribute(*a))
                                .map(str::to_owned)
                        }),
                        mac: child(d, "mac")
                            .and_then(|m| m.attribute("address"))
                            .map(str::to_owned),
                        alias: child(d, "alias")
                            .and_then(|m| m.attribute("name"))
                            .map(str::to_owned),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Domain {
            xml: xml.to_owned(),
            name,
            uuid,
            vcpu,
            cputune,
            numatune,
            memory_backing,
            devices,
        })
    }

    /// The XML as libvirt gave it.
    pub fn xml(&self) -> &str {
        &self.xml
    }

    /// The parsed XML tree, for anything the typed model does not cover.
    pub fn document(&self) -> Result<Document<'_>> {
        Document::parse(&self.xml).map_err(|e| xml_error(&self.name, "domain", e.to_string()))
    }

    /// The text or attribute at a simple slash path below `<domain>`:
    /// `"os/type"` (text) or `"os/type/@arch"` (attribute); the first match wins.
    pub fn find(&self, path: &str) -> Result<Option<String>> {
        let doc = self.document()?;
        let (elements, attribute) = match path.rsplit_once("/@") {
            Some((elements, attribute)) => (elements, Some(attribute)),
            None => (path, None),
        };
        let mut current = vec![doc.root_element()];
        for step in elements.split('/').filter(|s| !s.is_empty()) {
            current = current
                .iter()
                .flat_map(|n| n.children().filter(|c| c.has_tag_name(step)))
                .collect();
        }
        Ok(current.first().and_then(|node| match attribute {
            Some(a) => node.attribute(a).map(str::to_owned),
            None => node.text().map(|t| t.trim().to_owned()),
        }))
    }

    /// The host CPUs of all `<vcpupin>`s together.
    pub fn pinned_cpus(&self) -> CpuSet {
        let mut all = CpuSet::new();
        for pin in self.cputune.iter().flat_map(|t| &t.vcpupins) {
            all.extend(&pin.cpuset);
        }
        all
    }

    /// The devices of one kind (`disk`, `interface`, `hostdev`, ...).
    pub fn devices_of<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Device> + 'a {
        self.devices.iter().filter(move |d| d.kind == kind)
    }
}

/// What `virsh capabilities` says about the host.
#[derive(Debug, Clone, PartialEq)]
pub struct Capabilities {
    xml: String,
    /// `host/cpu/arch`.
    pub arch: Option<String>,
    /// The page sizes in KiB (`host/cpu/pages`).
    pub page_sizes_kib: Vec<u64>,
    /// The NUMA cells (`host/topology/cells/cell`).
    pub cells: Vec<NumaCell>,
    /// The guest domain types offered (`guest/arch/domain/@type`).
    pub domain_types: Vec<String>,
}

/// A host NUMA cell.
#[derive(Debug, Clone, PartialEq)]
pub struct NumaCell {
    /// The cell id.
    pub id: u32,
    /// Its CPUs.
    pub cpus: CpuSet,
}

impl Capabilities {
    /// Parses `virsh capabilities` output.
    pub fn parse(xml: &str) -> Result<Self> {
        let origin = "capabilities";
        let doc =
            Document::parse(xml).map_err(|e| xml_error(origin, "capabilities", e.to_string()))?;
        let root = doc.root_element();
        if !root.has_tag_name("capabilities") {
            return Err(xml_error(
                origin,
                root.tag_name().name(),
                "the root element is not <capabilities>",
            ));
        }
        let host = child(root, "host").ok_or_else(|| xml_error(origin, "host", "missing"))?;
        let cpu = child(host, "cpu");
        let mut page_sizes_kib = Vec::new();
        for page in cpu.iter().flat_map(|c| children(*c, "pages")) {
            if let Some(size) = number_attr::<u64>(origin, page, "host/cpu/pages", "size")? {
                page_sizes_kib.push(size);
            }
        }
        let mut cells = Vec::new();
        let all_cells = child(host, "topology").and_then(|t| child(t, "cells"));
        for cell in all_cells.iter().flat_map(|c| children(*c, "cell")) {
            let element = "host/topology/cells/cell";
            let cpus = child(cell, "cpus")
                .map(|c| {
                    children(c, "cpu")
                        .filter_map(|cpu| cpu.attribute("id")?.parse().ok())
                        .collect()
                })
                .unwrap_or_default();
            cells.push(NumaCell {
                id: number_attr(origin, cell, element, "id")?
                    .ok_or_else(|| xml_error(origin, element, "no id attribute"))?,
                cpus,
            });
        }
        let domain_types = children(root, "guest")
            .flat_map(|g| children(g, "arch"))
            .flat_map(|a| children(a, "domain"))
            .filter_map(|d| d.attribute("type").map(str::to_owned))
            .collect();
        Ok(Capabilities {
            xml: xml.to_owned(),
            arch: cpu
                .and_then(|c| child(c, "arch"))
                .and_then(|a| a.text())
                .map(str::to_owned),
            page_sizes_kib,
            cells,
            domain_types,
        })
    }

    /// The XML as libvirt gave it.
    pub fn xml(&self) -> &str {
        &self.xml
    }
}

/// One row of `virsh domblklist --details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// `file`, `block`, `network`, ...
    pub type_: String,
    /// `disk`, `cdrom`, ...
    pub device: String,
    /// The target (`vda`).
    pub target: String,
    /// The source path, or `-`.
    pub source: String,
}

/// Parses `virsh domblklist --details` output.
pub fn parse_domblklist(text: &str) -> std::result::Result<Vec<BlockDevice>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().ok_or("empty output")?;
    let columns: Vec<&str> = header.split_whitespace().collect();
    if columns != ["Type", "Device", "Target", "Source"] {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut rows = Vec::new();
    for line in lines.filter(|l| !l.starts_with("---")) {
        let mut parts = line.split_whitespace();
        let mut next = || parts.next().map(str::to_owned);
        match (next(), next(), next()) {
            (Some(type_), Some(device), Some(target)) => {
                let source = line
                    .split_whitespace()
                    .skip(3)
                    .collect::<Vec<_>>()
                    .join(" ");
                rows.push(BlockDevice {
                    type_,
                    device,
                    target,
                    source,
                });
            }
            _ => return Err(format!("unexpected row {line:?}")),
        }
    }
    Ok(rows)
}

/// `virsh` on one host, over its SSH connection, inside the `libvirt` service's container when
/// the inventory gives it one.
#[derive(Debug, Clone)]
pub struct Virsh {
    ssh: SshClient,
    inventory: Inventory,
    service: Option<ServiceEntry>,
    base: String,
}

impl Virsh {
    /// `virsh` on `host` (the inventory's `libvirt_uri`; the `libvirt` service's container).
    pub fn new(inventory: &Inventory, host: &str, ssh: SshClient) -> Result<Self> {
        let node = inventory.node(host)?;
        Ok(Self {
            ssh,
            inventory: inventory.clone(),
            service: node.services.get("libvirt").cloned(),
            base: format!("virsh -c {}", shell::quote(&node.libvirt_uri)),
        })
    }

    fn command(&self, args: &[&str]) -> String {
        self.inventory.wrap(
            self.service.as_ref(),
            &format!("{} {}", self.base, shell::join(args)),
        )
    }

    /// `virsh dumpxml <domain>`, parsed.
    pub async fn dumpxml(&self, domain: &str) -> Result<Domain> {
        let output = self.ssh.run(&self.command(&["dumpxml", domain])).await?;
        Domain::parse(&output.stdout_text(), domain)
    }

    /// `virsh capabilities`, parsed.
    pub async fn capabilities(&self) -> Result<Capabilities> {
        let output = self.ssh.run(&self.command(&["capabilities"])).await?;
        Capabilities::parse(&output.stdout_text())
    }

    /// `virsh domblklist --details <domain>`, parsed.
    pub async fn domblklist(&self, domain: &str) -> Result<Vec<BlockDevice>> {
        let command = self.command(&["domblklist", "--details", domain]);
        let output = self.ssh.run(&command).await?;
        parse_domblklist(&output.stdout_text()).map_err(|reason| Error::Output {
            host: self.ssh.host().to_owned(),
            command,
            reason,
        })
    }

    /// `virsh list --all --name`: the domain names.
    pub async fn list_all(&self) -> Result<Vec<String>> {
        let output = self
            .ssh
            .run(&self.command(&["list", "--all", "--name"]))
            .await?;
        Ok(output
            .stdout_text()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<domain type='kvm' id='3'>
  <name>instance-00000001</name>
  <uuid>6f2c3e0a-8a43-4a5e-9d3c-6f7a1b2c3d01</uuid>
  <memoryBacking><hugepages><page size='1' unit='GiB' nodeset='0'/></hugepages></memoryBacking>
  <vcpu placement='static' cpuset='2-3'>2</vcpu>
  <cputune>
    <vcpupin vcpu='0' cpuset='2'/>
    <vcpupin vcpu='1' cpuset='3'/>
    <emulatorpin cpuset='2-3'/>
  </cputune>
  <numatune>
    <memory mode='strict' nodeset='0'/>
    <memnode cellid='0' mode='strict' nodeset='0'/>
  </numatune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'><source file='/d/disk'/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><mac address='fa:16:3e:aa:bb:cc'/><source bridge='br0'/></interface>
    <hostdev mode='subsystem' type='pci' managed='yes'><alias name='hostdev0'/></hostdev>
  </devices>
</domain>"#;

    #[test]
    fn typed_model_of_an_nfv_domain() {
        let d = Domain::parse(XML, "test").unwrap();
        assert_eq!(d.name, "instance-00000001");
        let vcpu = d.vcpu.as_ref().unwrap();
        assert_eq!(
            (vcpu.count, vcpu.cpuset.as_ref().unwrap().to_string()),
            (2, "2-3".into())
        );
        let tune = d.cputune.as_ref().unwrap();
        assert_eq!(tune.vcpupins[1].cpuset.to_string(), "3");
        assert_eq!(tune.emulatorpin.as_ref().unwrap().to_string(), "2-3");
        let numa = d.numatune.as_ref().unwrap();
        assert_eq!(numa.memnodes[0].cellid, Some(0));
        assert_eq!(
            numa.memory.as_ref().unwrap().mode.as_deref(),
            Some("strict")
        );
        let backing = d.memory_backing.as_ref().unwrap();
        assert!(backing.hugepages);
        assert_eq!(backing.pages[0].size_kib(), Some(1024 * 1024));
        assert_eq!(d.devices.len(), 3);
        assert_eq!(
            d.devices_of("interface").next().unwrap().mac.as_deref(),
            Some("fa:16:3e:aa:bb:cc")
        );
        assert_eq!(d.devices[0].source.as_deref(), Some("/d/disk"));
        assert_eq!(d.devices[2].alias.as_deref(), Some("hostdev0"));
        assert_eq!(d.find("os/type/@machine").unwrap().as_deref(), Some("q35"));
        assert_eq!(d.find("os/type").unwrap().as_deref(), Some("hvm"));
        assert_eq!(d.pinned_cpus().to_string(), "2-3");
    }

    #[test]
    fn bad_xml_names_the_element() {
        let err =
            Domain::parse("<domain><name>x</name><vcpu>two</vcpu></domain>", "x").unwrap_err();
        assert!(err.to_string().contains("<domain/vcpu>"), "{err}");
        let err = Domain::parse(
            "<domain><name>x</name><cputune><vcpupin vcpu='0' cpuset='9-1'/></cputune></domain>",
            "x",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("cputune/vcpupin @cpuset")
                && err.to_string().contains("reversed"),
            "{err}"
        );
        let err = Domain::parse("<domain><name>x</name", "dumpxml").unwrap_err();
        assert!(matches!(err, Error::Xml { .. }), "{err}");
    }

    #[test]
    fn domblklist_rows() {
        let text = " Type   Device   Target   Source\n--------------------\n file   disk     vda      /var/lib/x y/disk\n network cdrom hdd -\n";
        let rows = parse_domblklist(text).unwrap();
        assert_eq!(rows[0].source, "/var/lib/x y/disk");
        assert_eq!(rows[1].target, "hdd");
        assert!(parse_domblklist("Target Source\n").is_err());
    }
}
