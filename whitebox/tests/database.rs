//! The Nova database in a real MariaDB (schema by nova-manage; rows written with Nova's own
//! objects by scripts/whitebox/seed_nova_db.py), directly and through an SSH tunnel.

mod common;

use squall_whitebox::{Database, Error};

const INSTANCE_1: &str = "a1f0c2d4-1111-4a5b-8c6d-000000000001";

async fn check_nova_tables(db: &Database) {
    let nodes = db.compute_nodes().await.unwrap();
    assert_eq!(nodes.len(), 1);
    let node = &nodes[0];
    assert_eq!(node.host.as_deref(), Some("squall-wb-compute"));
    assert_eq!(node.vcpus, 8);
    let numa = node.numa_topology.as_ref().expect("host NUMA topology");
    let cells: Vec<String> = numa.cells.iter().map(|c| c.pcpuset.to_string()).collect();
    assert_eq!(cells, vec!["0-3", "4-7"]);

    let devices = db.pci_devices(node.id).await.unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0].address, "0000:81:00.1");
    assert_eq!(devices[0].dev_type, "type-VF");
    assert_eq!(devices[0].parent_addr.as_deref(), Some("0000:81:00.0"));
    assert_eq!(devices[1].status, "available");
    let owned = db.pci_devices_of_instance(INSTANCE_1).await.unwrap();
    assert_eq!(owned.len(), 1);
    assert_eq!(owned[0].status, "allocated");

    let topology = db
        .instance_numa_topology(INSTANCE_1)
        .await
        .unwrap()
        .expect("numa_topology");
    assert_eq!(topology.cells.len(), 1);
    assert_eq!(topology.cells[0].cpu_policy.as_deref(), Some("dedicated"));
    assert_eq!(topology.pinned_host_cpus().to_string(), "2-3");
    assert_eq!(
        db.instance_numa_topology("no-such-instance").await.unwrap(),
        None
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn nova_tables_directly() {
    let db = Database::connect(&common::db_config()).await.unwrap();
    assert!(db.tunnel().is_none());
    check_nova_tables(&db).await;
    // Parameterised queries: the value never enters the SQL text.
    let hostile = "x' OR '1'='1";
    let rows: Vec<i64> = db
        .query("SELECT id FROM compute_nodes WHERE host = ?", (hostile,))
        .await
        .unwrap();
    assert!(rows.is_empty());
    // Nova's own migration bookkeeping shows nova-manage made the schema.
    let versions: Vec<String> = db
        .query("SELECT version_num FROM alembic_version", ())
        .await
        .unwrap();
    assert_eq!(versions.len(), 1, "{versions:?}");
    db.disconnect().await.unwrap();
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn nova_tables_through_an_ssh_tunnel() {
    let wb = common::whitebox();
    let ssh = wb.ssh(&common::env().compute_host).unwrap();
    let db = Database::connect_via(&common::db_config(), &ssh)
        .await
        .unwrap();
    let tunnel = db.tunnel().expect("a tunnel");
    assert_ne!(tunnel.local_addr().port(), common::env().db.port);
    assert!(
        db.target()
            .contains(&format!("via ssh {}", common::env().compute_host)),
        "{}",
        db.target()
    );
    check_nova_tables(&db).await;
    assert!(tunnel.forwarded() >= 1, "connections went through SSH");
    assert_eq!(
        ssh.connections_opened(),
        1,
        "the tunnel rides the host's one SSH connection"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn database_errors_name_the_target_and_query() {
    let db = Database::connect(&common::db_config()).await.unwrap();
    let err = db
        .query::<i64>("SELECT id FROM no_such_table WHERE id = ?", (1,))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Database { .. }));
    assert!(
        text.contains("squall@127.0.0.1") && text.contains("no_such_table"),
        "{text}"
    );
    let mut config = common::db_config();
    config.password = "wrong".into();
    let err = Database::connect(&config).await.unwrap_err();
    assert!(err.to_string().contains("Access denied"), "{err}");
}
