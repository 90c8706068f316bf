//! Check the dedicated-CPU pinning of libvirt domains on one host of a whitebox inventory.
//!
//! ```sh
//! python3 scripts/services.py up && python3 scripts/whitebox.py up
//! cargo run -p squall-whitebox --example nfv_pinning -- \
//!     target/squall-whitebox/nodes.yaml squall-compute-2 instance-00000001 instance-00000002
//! ```

use squall_whitebox::{Whitebox, check_pinning};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [nodes, host, domains @ ..] = args.as_slice() else {
        eprintln!("usage: nfv_pinning NODES_YAML HOST DOMAIN...");
        std::process::exit(2);
    };
    let whitebox = Whitebox::from_file(nodes)?;
    let dedicated = &whitebox.inventory().node(host)?.cpu_sets.dedicated;
    let virsh = whitebox.virsh(host)?;
    let mut parsed = Vec::new();
    for name in domains {
        let domain = virsh.dumpxml(name).await?;
        let pins: Vec<String> = domain
            .cputune
            .iter()
            .flat_map(|t| &t.vcpupins)
            .map(|p| format!("vCPU {} -> {}", p.vcpu, p.cpuset))
            .collect();
        println!("{name}: {}", pins.join(", "));
        parsed.push(domain);
    }
    let refs: Vec<_> = parsed.iter().collect();
    match check_pinning(&refs, dedicated) {
        Ok(used) => println!("OK: pinned inside {dedicated}, disjoint, using host CPUs {used}"),
        Err(e) => {
            println!("FAILED: {e}");
            std::process::exit(1);
        }
    }
    Ok(())
}
