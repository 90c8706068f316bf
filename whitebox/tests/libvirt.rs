//! Domain XML from `virsh -c test:///<file>` over SSH: a libvirt test-driver node holding
//! pinned NFV domains.

mod common;

use squall_whitebox::{Domain, Error, PinningViolation};

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn dumpxml_gives_the_typed_nfv_model() {
    let env = common::env();
    let virsh = common::whitebox().virsh(&env.compute_host).unwrap();
    let domain = virsh.dumpxml("instance-00000001").await.unwrap();
    assert_eq!(domain.name, "instance-00000001");
    let tune = domain.cputune.as_ref().expect("cputune");
    let pins: Vec<(u32, String)> = tune
        .vcpupins
        .iter()
        .map(|p| (p.vcpu, p.cpuset.to_string()))
        .collect();
    assert_eq!(pins, vec![(0, "2".to_owned()), (1, "3".to_owned())]);
    assert_eq!(tune.emulatorpin.as_ref().unwrap().to_string(), "2-3");
    let vcpu = domain.vcpu.as_ref().unwrap();
    assert_eq!(
        (vcpu.count, vcpu.cpuset.as_ref().unwrap().to_string()),
        (2, "2-3".to_owned())
    );
    let numa = domain.numatune.as_ref().unwrap();
    assert_eq!(numa.memnodes.len(), 1);
    assert_eq!(numa.memnodes[0].nodeset.as_ref().unwrap().to_string(), "0");
    let backing = domain.memory_backing.as_ref().unwrap();
    assert!(backing.hugepages);
    assert_eq!(backing.pages[0].size_kib(), Some(2048));
    let disks: Vec<_> = domain
        .devices_of("disk")
        .map(|d| d.target.clone().unwrap())
        .collect();
    assert_eq!(disks, vec!["vda", "hdd"]);
    // Raw access for the rest: the test driver fills in what it adds itself.
    assert_eq!(
        domain.find("@type").unwrap(),
        None,
        "paths are below <domain>"
    );
    assert_eq!(domain.find("os/type").unwrap().as_deref(), Some("hvm"));
    assert_eq!(domain.find("on_crash").unwrap().as_deref(), Some("destroy"));
    let doc = domain.document().unwrap();
    assert_eq!(doc.root_element().attribute("type"), Some("test"));
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn capabilities_domblklist_and_list() {
    let env = common::env();
    let virsh = common::whitebox().virsh(&env.compute_host).unwrap();
    let caps = virsh.capabilities().await.unwrap();
    assert_eq!(caps.arch.as_deref(), Some("i686"));
    assert!(
        caps.page_sizes_kib.contains(&2048),
        "{:?}",
        caps.page_sizes_kib
    );
    assert!(caps.domain_types.iter().any(|t| t == "test"));
    let disks = virsh.domblklist("instance-00000002").await.unwrap();
    assert_eq!(disks.len(), 2);
    assert_eq!(disks[0].target, "vda");
    assert_eq!(
        disks[0].source,
        "/var/lib/nova/instances/instance-00000002/disk"
    );
    assert_eq!(disks[1].device, "cdrom");
    let names = virsh.list_all().await.unwrap();
    assert_eq!(
        names,
        vec![
            "instance-00000001",
            "instance-00000002",
            "instance-00000003"
        ]
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn pinning_check_passes_for_disjoint_dedicated_pins() {
    let env = common::env();
    let used = common::whitebox()
        .check_host_pinning(
            &env.compute_host,
            &["instance-00000001", "instance-00000002"],
        )
        .await
        .unwrap();
    assert_eq!(used.to_string(), "2-5");
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn pinning_check_fails_for_shared_and_stray_pins() {
    let env = common::env();
    let err = common::whitebox()
        .check_host_pinning(
            &env.compute_host,
            &[
                "instance-00000001",
                "instance-00000002",
                "instance-00000003",
            ],
        )
        .await
        .unwrap_err();
    let Error::Pinning(pinning) = &err else {
        panic!("expected a pinning failure, got {err:?}");
    };
    assert_eq!(pinning.dedicated.to_string(), "2-7");
    assert_eq!(
        pinning.violations,
        vec![
            PinningViolation::OutsideDedicated {
                domain: "instance-00000003".into(),
                vcpu: 1,
                cpus: "1".parse().unwrap()
            },
            PinningViolation::Shared {
                first: "instance-00000002".into(),
                second: "instance-00000003".into(),
                cpus: "5".parse().unwrap()
            },
        ]
    );
    let text = err.to_string();
    assert!(
        text.contains("instance-00000002 and instance-00000003 are both pinned to host CPUs 5"),
        "{text}"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_missing_domain_is_a_failed_virsh_command() {
    let env = common::env();
    let virsh = common::whitebox().virsh(&env.compute_host).unwrap();
    let err = virsh.dumpxml("instance-0000ffff").await.unwrap_err();
    let Error::CommandFailed {
        status,
        stderr,
        command,
        ..
    } = &err
    else {
        panic!("expected CommandFailed, got {err:?}");
    };
    assert_eq!(*status, Some(1));
    assert!(stderr.contains("instance-0000ffff"), "{stderr}");
    assert!(command.starts_with("virsh -c test://"), "{command}");
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn bad_xml_is_a_clear_error() {
    // Broken XML, fetched over SSH as virsh output would be.
    let env = common::env();
    let ssh = common::whitebox().ssh(&env.compute_host).unwrap();
    let xml = ssh
        .run("printf '%s' \"<domain type='kvm'><name>broken</name><vcpu>2</vcpu><cputune><vcpupin vcpu='0'/></cputune></domain>\"")
        .await
        .unwrap()
        .stdout_text();
    let err = Domain::parse(&xml, "broken").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("libvirt XML of broken")
            && text.contains("<cputune/vcpupin>")
            && text.contains("no cpuset"),
        "{text}"
    );
    let err = Domain::parse("<domain><name>x</name></domin>", "truncated").unwrap_err();
    assert!(
        matches!(&err, Error::Xml { source_name, .. } if source_name == "truncated"),
        "{err}"
    );
}
