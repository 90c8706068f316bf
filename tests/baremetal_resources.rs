//! The imported baremetal operations that need a resource first, against the real Ironic (fake
//! hardware): create, show, update with a JSON Patch document, list under a node, delete. Every
//! answer is decoded strictly to the answered version's variant.
//!
//! Imported operations that cannot run here: `show_node_bios_setting` (a fake-hardware node that
//! was only enrolled has no BIOS settings cached), `call_driver_vendor_passthru` (fake-hardware
//! has no driver-level vendor methods; Ironic answers an unknown one with 500).
//! `update_volume_connector` and `update_volume_target` run and are refused (400): Ironic changes
//! volume resources only of a node powered off, and an enrolled fake node has no power state.

mod common;

use serde_json::{Value, json};
use squall::clients::baremetal::{
    self, AllocationsClient, ChassisClient, ConductorsClient, DeployTemplatesClient, DriversClient,
    EventsClient, NodeBiosClient, NodeFirmwareClient, NodesClient, PortgroupsClient, VolumeClient,
    VolumeConnectorsClient, VolumeTargetsClient, allocations, chassis, deploy_templates, events,
    portgroups, volume_connectors, volume_targets,
};
use squall::prelude::*;
use squall::runtime::{Error, HttpErrorKind, Microversion, Response};

/// Ironic runs on SQLite here: concurrent writes from this binary's tests would meet "database is
/// locked" (500). The tests take turns.
static IRONIC: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The newest version both sides know.
const LATEST: (u32, u32) = (1, 115);

async fn service(version: (u32, u32)) -> squall::runtime::ServiceClient {
    common::service(&baremetal::SERVICE, ApiVersion::at(version.0, version.1)).await
}

/// Collects failures so one run shows every mismatch.
#[derive(Default)]
struct Outcome {
    calls: usize,
    failures: Vec<String>,
}

impl Outcome {
    fn check<T>(
        &mut self,
        what: &str,
        version: (u32, u32),
        status: u16,
        result: Result<Response<T>, Error>,
    ) -> Option<T> {
        self.calls += 1;
        match result {
            Ok(r)
                if r.status == status
                    && r.version == Some(Microversion::new(version.0, version.1)) =>
            {
                Some(r.body)
            }
            Ok(r) => {
                self.failures.push(format!(
                    "{what}: status {} version {:?}, expected {status} at {}.{}",
                    r.status, r.version, version.0, version.1
                ));
                None
            }
            Err(e) => {
                self.failures.push(format!("{what}: {e}"));
                None
            }
        }
    }

    /// A call Ironic refuses here for a reason outside squall: the request went out encoded and
    /// the answer is Ironic's error, of this kind and mentioning `because`.
    fn refused<T: std::fmt::Debug>(
        &mut self,
        what: &str,
        kind: HttpErrorKind,
        because: &str,
        result: Result<Response<T>, Error>,
    ) {
        self.calls += 1;
        match result {
            Err(e) if e.http_kind() == Some(kind) && e.to_string().contains(because) => {}
            other => self.failures.push(format!(
                "{what}: expected {kind:?} ({because}), got {other:?}"
            )),
        }
    }

    fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} of {} calls failed:\n{}",
            self.failures.len(),
            self.calls,
            self.failures.join("\n")
        );
    }
}

fn patch(path: &str, value: Value) -> Value {
    json!([{"op": "replace", "path": path, "value": value}])
}

async fn chassis_round_trip(out: &mut Outcome, v: (u32, u32)) {
    let client = ChassisClient::new(service(v).await);
    let body = chassis::CreateChassisRequest::from_json_at(
        ApiVersion::at(v.0, v.1),
        json!({"description": "squall chassis", "extra": {"by": "squall"}}),
    )
    .expect("create body");
    let Some(created) = out.check("create_chassis", v, 201, client.create_chassis(&body).await)
    else {
        return;
    };
    let id = created.uuid.clone().expect("a uuid");
    if let Some(shown) = out.check("show_chassis", v, 200, client.show_chassis(&id, None).await) {
        assert_eq!(shown.description.as_deref(), Some("squall chassis"));
    }
    let update = chassis::UpdateChassisRequest::from_json_at(
        ApiVersion::at(v.0, v.1),
        patch("/description", json!("renamed")),
    )
    .expect("patch body");
    if let Some(updated) = out.check(
        "update_chassis",
        v,
        200,
        client.update_chassis(&id, &update).await,
    ) {
        assert_eq!(updated.description.as_deref(), Some("renamed"));
    }
    if let Some(listed) = out.check(
        "list_chassis_detail",
        v,
        200,
        client.list_chassis_detail(None).await,
    ) {
        assert!(
            listed
                .chassis
                .iter()
                .any(|c| c.uuid.as_deref() == Some(id.as_str()))
        );
    }
    // The narrowed query (detail: bool, limit: u32) and a field selection, as Ironic reads them.
    // Ironic's schema declares `detail` at every version, but Ironic refuses it below 1.43 (a
    // gate in code the overlay cannot split a variant by).
    let detail = v >= (1, 43);
    let query = chassis::ListChassisQuery::from_json_at(
        ApiVersion::at(v.0, v.1),
        if detail {
            json!({"detail": true, "limit": 1})
        } else {
            json!({"limit": 1})
        },
    )
    .expect("query");
    if let Some(listed) = out.check(
        "list_chassis",
        v,
        200,
        client.list_chassis(Some(&query)).await,
    ) {
        assert_eq!(listed.chassis.len(), 1, "limit 1: {listed:?}");
        assert_eq!(
            listed.chassis[0].created_at.is_some(),
            detail,
            "every field with detail, a summary without: {listed:?}"
        );
        assert!(listed.next.is_some(), "a full page links the next");
    }
    if v >= (1, 8) {
        let fields = chassis::ShowChassisQuery::from_json_at(
            ApiVersion::at(v.0, v.1),
            json!({"fields": ["uuid", "description"]}),
        )
        .expect("query");
        if let Some(shown) = out.check(
            "show_chassis with fields",
            v,
            200,
            client.show_chassis(&id, Some(&fields)).await,
        ) {
            assert_eq!(shown.uuid.as_deref(), Some(id.as_str()));
            assert!(
                shown.created_at.is_none(),
                "only the asked fields: {shown:?}"
            );
        }
    }
    out.check("delete_chassis", v, 204, client.delete_chassis(&id).await);
}

#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn chassis_at_1_1_and_latest() {
    let _turn = IRONIC.lock().await;
    let mut out = Outcome::default();
    chassis_round_trip(&mut out, (1, 1)).await;
    chassis_round_trip(&mut out, LATEST).await;
    out.finish();
}

#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn deploy_templates_drivers_and_conductors() {
    let _turn = IRONIC.lock().await;
    let v = LATEST;
    let at = ApiVersion::at(v.0, v.1);
    let mut out = Outcome::default();

    let templates = DeployTemplatesClient::new(service(v).await);
    let name = format!(
        "CUSTOM_SQUALL_{}",
        common::unique("t").to_uppercase().replace('-', "_")
    );
    let body = deploy_templates::CreateDeployTemplateRequest::from_json_at(
        at,
        json!({"name": name, "steps": [{"interface": "bios", "step": "apply_configuration",
               "args": {"settings": [{"name": "LogicalProc", "value": "Enabled"}]},
               "priority": 150}]}),
    )
    .expect("create body");
    if let Some(created) = out.check(
        "create_deploy_template",
        v,
        201,
        templates.create_deploy_template(&body).await,
    ) {
        let id = created.uuid.clone().expect("a uuid");
        out.check(
            "show_deploy_template",
            v,
            200,
            templates.show_deploy_template(&id, None).await,
        );
        let update = deploy_templates::UpdateDeployTemplateRequest::from_json_at(
            at,
            json!([{"op": "add", "path": "/extra/by", "value": "squall"}]),
        )
        .expect("patch body");
        out.check(
            "update_deploy_template",
            v,
            200,
            templates.update_deploy_template(&id, &update).await,
        );
        out.check(
            "delete_deploy_template",
            v,
            204,
            templates.delete_deploy_template(&id).await,
        );
    }

    let drivers = DriversClient::new(service(v).await);
    out.check(
        "show_driver",
        v,
        200,
        drivers.show_driver("fake-hardware", None).await,
    );
    out.check(
        "get_driver_properties",
        v,
        200,
        drivers.get_driver_properties("fake-hardware").await,
    );
    out.check(
        "get_driver_logical_disk_properties",
        v,
        200,
        drivers
            .get_driver_logical_disk_properties("fake-hardware")
            .await,
    );
    out.check(
        "list_driver_vendor_passthru_methods",
        v,
        200,
        drivers
            .list_driver_vendor_passthru_methods("fake-hardware")
            .await,
    );

    let conductors = ConductorsClient::new(service(v).await);
    if let Some(listed) = out.check(
        "list_conductors",
        v,
        200,
        conductors.list_conductors(None).await,
    ) {
        let first = listed
            .conductors
            .first()
            .and_then(|c| c.hostname.clone())
            .expect("a conductor");
        out.check(
            "show_conductor",
            v,
            200,
            conductors.show_conductor(&first, None).await,
        );
    }
    out.finish();
}

#[tokio::test]
#[ignore = "live: needs Ironic (scripts/services.py up)"]
async fn node_sub_resources_portgroups_volumes_and_allocations() {
    let _turn = IRONIC.lock().await;
    let v = LATEST;
    let at = ApiVersion::at(v.0, v.1);
    let mut out = Outcome::default();

    let nodes = NodesClient::new(service(v).await);
    let node =
        baremetal::nodes::CreateNodeRequest::from_json_at(at, json!({"driver": "fake-hardware"}))
            .expect("node body");
    let created = nodes.create_node(&node).await.expect("create node");
    let node_id = serde_json::from_slice::<Value>(&created.raw).expect("json")["uuid"]
        .as_str()
        .expect("a uuid")
        .to_owned();

    let groups = PortgroupsClient::new(service(v).await);
    let body = portgroups::CreatePortgroupRequest::from_json_at(
        at,
        json!({"node_uuid": node_id, "name": common::unique("pg"), "address": "52:54:00:12:34:56"}),
    )
    .expect("portgroup body");
    if let Some(pg) = out.check(
        "create_portgroup",
        v,
        201,
        groups.create_portgroup(&body).await,
    ) {
        let id = pg.uuid.clone().expect("a uuid");
        out.check(
            "show_portgroup",
            v,
            200,
            groups.show_portgroup(&id, None).await,
        );
        if let Some(listed) = out.check(
            "list_node_portgroups",
            v,
            200,
            groups.list_node_portgroups(&node_id, None).await,
        ) {
            assert_eq!(listed.portgroups.len(), 1, "{listed:?}");
        }
        out.check(
            "list_node_portgroups_detail",
            v,
            200,
            groups.list_node_portgroups_detail(&node_id, None).await,
        );
        let update = portgroups::UpdatePortgroupRequest::from_json_at(
            at,
            json!([{"op": "add", "path": "/extra/by", "value": "squall"}]),
        )
        .expect("patch body");
        out.check(
            "update_portgroup",
            v,
            200,
            groups.update_portgroup(&id, &update).await,
        );
        out.check(
            "delete_portgroup",
            v,
            204,
            groups.delete_portgroup(&id).await,
        );
    }

    let connectors = VolumeConnectorsClient::new(service(v).await);
    let body = volume_connectors::CreateVolumeConnectorRequest::from_json_at(
        at,
        json!({"node_uuid": node_id, "type": "iqn",
               "connector_id": format!("iqn.2026-12.org.squall:{}", common::unique("c"))}),
    )
    .expect("connector body");
    if let Some(c) = out.check(
        "create_volume_connector",
        v,
        201,
        connectors.create_volume_connector(&body).await,
    ) {
        let id = c.uuid.clone().expect("a uuid");
        out.check(
            "show_volume_connector",
            v,
            200,
            connectors.show_volume_connector(&id, None).await,
        );
        out.check(
            "list_node_volume_connectors",
            v,
            200,
            connectors.list_node_volume_connectors(&node_id, None).await,
        );
        let update = volume_connectors::UpdateVolumeConnectorRequest::from_json_at(
            at,
            json!([{"op": "add", "path": "/extra/by", "value": "squall"}]),
        )
        .expect("patch body");
        // Ironic updates volume connectors only of a node powered off; an enrolled fake node has
        // no power state yet, and squall has no power operation yet.
        out.refused(
            "update_volume_connector",
            HttpErrorKind::BadRequest,
            "while it is in state \"None\"",
            connectors.update_volume_connector(&id, &update).await,
        );
        out.check(
            "delete_volume_connector",
            v,
            204,
            connectors.delete_volume_connector(&id).await,
        );
    }

    let targets = VolumeTargetsClient::new(service(v).await);
    let body = volume_targets::CreateVolumeTargetRequest::from_json_at(
        at,
        json!({"node_uuid": node_id, "volume_type": "iscsi", "boot_index": 0,
               "volume_id": common::unique("vol")}),
    )
    .expect("target body");
    if let Some(t) = out.check(
        "create_volume_target",
        v,
        201,
        targets.create_volume_target(&body).await,
    ) {
        let id = t.uuid.clone().expect("a uuid");
        out.check(
            "show_volume_target",
            v,
            200,
            targets.show_volume_target(&id, None).await,
        );
        out.check(
            "list_node_volume_targets",
            v,
            200,
            targets.list_node_volume_targets(&node_id, None).await,
        );
        let update = volume_targets::UpdateVolumeTargetRequest::from_json_at(
            at,
            patch("/boot_index", json!(1)),
        )
        .expect("patch body");
        // Ironic updates volume targets only of a node powered off; an enrolled fake node has
        // no power state yet, and squall has no power operation yet.
        out.refused(
            "update_volume_target",
            HttpErrorKind::BadRequest,
            "while it is in state \"None\"",
            targets.update_volume_target(&id, &update).await,
        );
        out.check(
            "delete_volume_target",
            v,
            204,
            targets.delete_volume_target(&id).await,
        );
    }

    let volume = VolumeClient::new(service(v).await);
    out.check(
        "show_node_volume",
        v,
        200,
        volume.show_node_volume(&node_id).await,
    );
    let bios = NodeBiosClient::new(service(v).await);
    out.check(
        "list_node_bios_settings",
        v,
        200,
        bios.list_node_bios_settings(&node_id, None).await,
    );
    let firmware = NodeFirmwareClient::new(service(v).await);
    out.check(
        "list_node_firmware",
        v,
        200,
        firmware.list_node_firmware(&node_id, None).await,
    );

    let allocations = AllocationsClient::new(service(v).await);
    let body = allocations::CreateAllocationRequest::from_json_at(
        at,
        json!({"resource_class": "squall-nothing-matches", "name": common::unique("alloc")}),
    )
    .expect("allocation body");
    if let Some(created) = out.check(
        "create_allocation",
        v,
        201,
        allocations.create_allocation(&body).await,
    ) {
        let allocations::CreateAllocationResponse::V1_60(a) = created else {
            panic!("1.115 answer must be the 1.60 variant: {created:?}");
        };
        let id = a.uuid.clone().expect("a uuid");
        out.check(
            "show_allocation",
            v,
            200,
            allocations.show_allocation(&id, None).await,
        );
        let update = allocations::UpdateAllocationRequest::from_json_at(
            at,
            json!([{"op": "add", "path": "/extra/by", "value": "squall"}]),
        )
        .expect("patch body");
        out.check(
            "update_allocation",
            v,
            200,
            allocations.update_allocation(&id, &update).await,
        );
        out.check(
            "delete_allocation",
            v,
            204,
            allocations.delete_allocation(&id).await,
        );
    }

    // Ironic logs network events and answers 204 (no body).
    let events = EventsClient::new(service(v).await);
    let body = events::CreateEventsRequest::from_json_at(
        at,
        json!({"events": [{"event": "network.bind_port",
                           "port_id": "6f7c1b3e-9a41-4c55-8d1e-2b5f0f1a7c11",
                           "mac_address": "52:54:00:12:34:57", "status": "ACTIVE",
                           "device_id": node_id, "binding:host_id": node_id,
                           "binding:vnic_type": "baremetal"}]}),
    )
    .expect("events body");
    out.check("create_events", v, 204, events.create_events(&body).await);

    nodes.delete_node(&node_id).await.expect("delete node");
    out.finish();
}
