"""Seed the whitebox MariaDB (Nova schema made by nova-manage) with the rows NFV tests read.

The JSON columns are produced by Nova's own objects, exactly as nova-compute writes them:
``compute_nodes.numa_topology`` (NUMATopology), ``instance_extra.numa_topology``
(InstanceNUMATopology) and ``pci_devices``. Run with the services' venv:
python seed_nova_db.py HOST PORT USER PASSWORD DATABASE
"""

import json
import sys

import pymysql

from nova import objects

objects.register_all()

HOST = "squall-wb-compute"
NODE_UUID = "5b1a3c8e-0a8f-4e43-9d53-1c2f3a4b5c60"
INSTANCES = {
    # uuid: (name id, pinning vCPU -> host CPU)
    "a1f0c2d4-1111-4a5b-8c6d-000000000001": (1, {0: 2, 1: 3}),
    "a1f0c2d4-2222-4a5b-8c6d-000000000002": (2, {0: 4, 1: 5}),
}


def host_numa() -> str:
    cells = [
        objects.NUMACell(id=cell, cpuset=set(), pcpuset=set(cpus), memory=4096, memory_usage=0,
                         pinned_cpus=set(), siblings=[], mempages=[], network_metadata=
                         objects.NetworkMetadata(physnets=set(), tunneled=False))
        for cell, cpus in ((0, range(0, 4)), (1, range(4, 8)))
    ]
    return json.dumps(objects.NUMATopology(cells=cells).obj_to_primitive())


def instance_numa(uuid: str, pins: dict[int, int]) -> str:
    cell = objects.InstanceNUMACell(id=0, cpuset=set(), pcpuset=set(pins), memory=1024,
                                    pagesize=2048, cpu_policy="dedicated")
    cell.pin_vcpus(*pins.items())
    topo = objects.InstanceNUMATopology(instance_uuid=uuid, cells=[cell])
    return json.dumps(topo.obj_to_primitive())


def main(host: str, port: str, user: str, password: str, database: str) -> int:
    db = pymysql.connect(host=host, port=int(port), user=user, password=password,
                         database=database, autocommit=True)
    with db.cursor() as cur:
        cur.execute("DELETE FROM pci_devices")
        cur.execute("DELETE FROM instance_extra")
        cur.execute("DELETE FROM instances")
        cur.execute("DELETE FROM compute_nodes")
        cur.execute(
            "INSERT INTO compute_nodes (created_at, uuid, host, hypervisor_hostname,"
            " hypervisor_type, hypervisor_version, vcpus, memory_mb, local_gb, vcpus_used,"
            " memory_mb_used, local_gb_used, cpu_info, numa_topology, deleted)"
            " VALUES (NOW(), %s, %s, %s, 'QEMU', 8002000, 8, 8192, 100, 4, 2048, 2, '{}', %s, 0)",
            (NODE_UUID, HOST, HOST, host_numa()))
        node_id = cur.lastrowid
        for uuid, (number, pins) in INSTANCES.items():
            cur.execute(
                "INSERT INTO instances (created_at, uuid, host, node, display_name,"
                " vm_state, power_state, vcpus, memory_mb, deleted)"
                " VALUES (NOW(), %s, %s, %s, %s, 'active', 1, 2, 1024, 0)",
                (uuid, HOST, HOST, f"nfv-{number}"))
            cur.execute(
                "INSERT INTO instance_extra (created_at, instance_uuid, numa_topology, deleted)"
                " VALUES (NOW(), %s, %s, 0)", (uuid, instance_numa(uuid, pins)))
        for index, (address, status, owner) in enumerate((
                ("0000:81:00.1", "allocated", "a1f0c2d4-1111-4a5b-8c6d-000000000001"),
                ("0000:81:00.2", "available", None))):
            cur.execute(
                "INSERT INTO pci_devices (created_at, deleted, compute_node_id, address,"
                " vendor_id, product_id, dev_type, dev_id, label, status, extra_info,"
                " instance_uuid, numa_node, parent_addr, uuid)"
                " VALUES (NOW(), 0, %s, %s, '8086', '154c', 'type-VF', %s, 'label_8086_154c',"
                " %s, '{}', %s, 1, '0000:81:00.0', %s)",
                (node_id, address, "pci_" + address.replace(":", "_").replace(".", "_"),
                 status, owner, f"c0ffee00-0000-4000-8000-00000000000{index}"))
    print(f"seeded {database}: 1 compute node, {len(INSTANCES)} instances, 2 PCI devices")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
