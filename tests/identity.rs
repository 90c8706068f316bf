//! The bundled identity service (Keystone v3, no microversions) against the real Keystone:
//! the hand-written tokens and auth groups, and a create–show–list–update–delete round through
//! the imported groups. Every answer decodes strictly (the runtime's default validation); no
//! microversion header is sent or expected.

mod common;

use serde_json::{Value, json};
use squall::clients::identity::{self, groups, projects, regions, roles, tokens, users};
use squall::prelude::*;
use squall::runtime::{HttpErrorKind, VersionedRequest};

/// The id in a raw answer (`{"user": {"id": ...}}`): Keystone's declared schemas leave ids
/// out of some create responses, which allow extra members.
fn id_of(raw: &[u8], key: &str) -> String {
    let body: Value = serde_json::from_slice(raw).expect("JSON");
    body[key]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}.id in {body}"))
        .to_owned()
}

fn at<T: VersionedRequest>(value: Value) -> T {
    T::from_json_at(squall::runtime::ApiVersion::Null, value).expect("request matches its schema")
}

#[tokio::test]
#[ignore = "live: needs Keystone (scripts/services.py up)"]
async fn tokens_are_issued_validated_checked_and_revoked() {
    let cloud = common::cloud();
    let clients = common::admin_service_clients();
    let tokens = clients.identity().tokens().await.expect("tokens client");
    assert!(
        tokens.microversion().header_value().is_none(),
        "identity sends no version header"
    );
    let body: tokens::IssueTokenRequest = at(json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": cloud.username, "domain": {"name": cloud.user_domain_name},
            "password": cloud.password}}},
        "scope": {"project": {"name": cloud.project_name,
                              "domain": {"name": cloud.project_domain_name}}}}}));
    let issued = tokens.issue_token(&body, None).await.expect("issue");
    assert_eq!(issued.status, 201);
    let subject = issued
        .headers
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .expect("X-Subject-Token")
        .to_owned();
    let token = &issued.body.token;
    assert_eq!(token.user.name, cloud.username);
    assert_eq!(
        token.project.as_ref().map(|p| p.name.as_str()),
        Some(cloud.project_name.as_str())
    );
    let catalog = token
        .catalog
        .as_ref()
        .expect("a scoped token has a catalog");
    assert!(catalog.iter().any(|e| e.type_ == "compute"));

    let shown = tokens
        .validate_token(&subject, None)
        .await
        .expect("validate");
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body.token.audit_ids, token.audit_ids);
    assert_eq!(
        tokens
            .check_token(&subject, None)
            .await
            .expect("check")
            .status,
        200
    );
    assert_eq!(
        tokens.revoke_token(&subject).await.expect("revoke").status,
        204
    );
    let gone = tokens.validate_token(&subject, None).await.unwrap_err();
    assert_eq!(gone.http_kind(), Some(HttpErrorKind::NotFound), "{gone}");
}

#[tokio::test]
#[ignore = "live: needs Keystone (scripts/services.py up)"]
async fn auth_catalog_and_scopes_decode() {
    let clients = common::admin_service_clients();
    let auth = clients.identity().auth().await.expect("auth client");
    let catalog = auth.show_catalog().await.expect("catalog");
    let types: Vec<&str> = catalog
        .body
        .catalog
        .iter()
        .map(|e| e.type_.as_str())
        .collect();
    for wanted in ["identity", "compute", "placement"] {
        assert!(types.contains(&wanted), "{wanted} in {types:?}");
    }
    let projects = auth.list_auth_projects().await.expect("projects");
    assert!(
        projects
            .body
            .projects
            .iter()
            .any(|p| p.name == common::cloud().project_name)
    );
    let domains = auth.list_auth_domains().await.expect("domains");
    assert!(domains.body.domains.iter().any(|d| d.id == "default"));
    auth.list_auth_system().await.expect("system");
}

#[tokio::test]
#[ignore = "live: needs Keystone (scripts/services.py up)"]
async fn project_user_group_role_and_region_round_trip() {
    let clients = common::admin_service_clients();
    let id = clients.identity();
    let name = common::unique("sq-id");

    // Project.
    let projects = id.projects().await.expect("projects client");
    let created = projects
        .create_project(&at::<projects::CreateProjectRequest>(json!({"project": {
            "name": name, "domain_id": "default", "description": "squall", "enabled": true}})))
        .await
        .expect("create project");
    assert_eq!(created.status, 201);
    let project_id = id_of(&created.raw, "project");
    let shown = projects
        .show_project(&project_id)
        .await
        .expect("show project");
    assert_eq!(shown.body.project.and_then(|p| p.name), Some(name.clone()));
    let listed = projects.list_projects(None).await.expect("list projects");
    assert!(listed.raw_text().contains(&name));
    projects
        .update_project(
            &project_id,
            &at::<projects::UpdateProjectRequest>(json!({"project": {"description": "changed"}})),
        )
        .await
        .expect("update project");
    projects
        .update_tag(&project_id, "squall")
        .await
        .expect("tag project");
    let tags = projects.list_tags(&project_id).await.expect("tags");
    assert_eq!(tags.body.tags, Some(vec!["squall".to_owned()]));

    // User in the project, with a role.
    let users = id.users().await.expect("users client");
    let user = users
        .create_user(&at::<users::CreateUserRequest>(json!({"user": {
            "name": name, "domain_id": "default", "password": "secret-squall",
            "default_project_id": project_id, "enabled": true}})))
        .await
        .expect("create user");
    let user_id = id_of(&user.raw, "user");
    assert_eq!(
        users
            .show_user(&user_id)
            .await
            .expect("show user")
            .body
            .user
            .name,
        name
    );
    let roles = id.roles().await.expect("roles client");
    let role = roles
        .create_role(&at::<roles::CreateRoleRequest>(
            json!({"role": {"name": name}}),
        ))
        .await
        .expect("create role");
    let role_id = id_of(&role.raw, "role");
    roles
        .update_projects_user_role(&project_id, &user_id, &role_id)
        .await
        .expect("grant");
    let granted = roles
        .list_projects_user_roles(&project_id, &user_id)
        .await
        .expect("list grants");
    assert!(granted.raw_text().contains(&name));

    // Group.
    let groups = id.groups().await.expect("groups client");
    let group = groups
        .create_group(&at::<groups::CreateGroupRequest>(
            json!({"group": {"name": name, "domain_id": "default"}}),
        ))
        .await
        .expect("create group");
    let group_id = id_of(&group.raw, "group");
    groups
        .update_group(
            &group_id,
            &at::<groups::UpdateGroupRequest>(json!({"group": {"description": "squall"}})),
        )
        .await
        .expect("update group");

    // Region.
    let regions = id.regions().await.expect("regions client");
    let region = regions
        .create_region(&at::<regions::CreateRegionRequest>(
            json!({"region": {"id": name, "description": "squall"}}),
        ))
        .await
        .expect("create region");
    assert_eq!(region.status, 201);
    assert!(
        regions
            .list_regions(None)
            .await
            .expect("list regions")
            .body
            .regions
            .iter()
            .any(|r| r.id.as_deref() == Some(name.as_str()))
    );

    // Tear down what the test made, newest first; each delete answers 204.
    for (what, result) in [
        (
            "region",
            regions.delete_region(&name).await.map(|r| r.status),
        ),
        (
            "group",
            groups.delete_group(&group_id).await.map(|r| r.status),
        ),
        (
            "grant",
            roles
                .delete_projects_user_role(&project_id, &user_id, &role_id)
                .await
                .map(|r| r.status),
        ),
        ("role", roles.delete_role(&role_id).await.map(|r| r.status)),
        ("user", users.delete_user(&user_id).await.map(|r| r.status)),
        (
            "project",
            projects.delete_project(&project_id).await.map(|r| r.status),
        ),
    ] {
        assert_eq!(result.unwrap_or_else(|e| panic!("delete {what}: {e}")), 204);
    }
    let gone = users.show_user(&user_id).await.unwrap_err();
    assert_eq!(gone.http_kind(), Some(HttpErrorKind::NotFound), "{gone}");
    let _ = identity::SERVICE.name;
}
