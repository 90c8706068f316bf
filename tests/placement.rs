//! Placement against the real service, with a real Keystone token.

mod common;

use squall::runtime::contract as rt;

use serde_json::json;
use squall::clients::placement::{
    self, InventoriesClient, ResourceProvidersClient, TraitsClient, resource_providers,
};
use squall::runtime::{ApiVersion, Error, HttpErrorKind, ServiceClient};

async fn placement_at(version: ApiVersion) -> ServiceClient {
    common::service(&placement::SERVICE, version).await
}

fn body<T: squall::runtime::Decode>(value: serde_json::Value) -> T {
    squall::runtime::decode::from_value(&value).expect("request body matches its type")
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn create_provider_at_1_0_is_201_without_body_and_at_1_20_is_200_with_body() {
    let old = ResourceProvidersClient::new(placement_at(ApiVersion::at(1, 0)).await);
    let name = common::unique("rp10");
    let req: placement::types::CreateResourceProviderRequestV1_0 = body(json!({"name": name}));
    let created = old
        .create_resource_provider(&req.into())
        .await
        .expect("create at 1.0");
    assert_eq!(created.status, 201);
    assert!(created.raw.is_empty(), "no body at 1.0");
    assert!(matches!(
        created.body,
        resource_providers::CreateResourceProviderResponse::V1_0
    ));
    let location = created
        .header("Location")
        .expect("Location header")
        .to_owned();
    let uuid = location.rsplit('/').next().unwrap().to_owned();
    old.delete_resource_provider(&uuid).await.expect("delete");

    let new = ResourceProvidersClient::new(placement_at(ApiVersion::at(1, 20)).await);
    let name = common::unique("rp120");
    let req: placement::types::CreateResourceProviderRequestV1_14 = body(json!({"name": name}));
    let created = new
        .create_resource_provider(&req.into())
        .await
        .expect("create at 1.20");
    assert_eq!(created.status, 200);
    let resource_providers::CreateResourceProviderResponse::V1_20(provider) = &created.body else {
        panic!("1.20 must decode to the 1.20 variant: {:?}", created.body);
    };
    assert_eq!(provider.name, name);
    assert_eq!(provider.generation, 0);
    new.delete_resource_provider(&provider.uuid)
        .await
        .expect("delete");
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn traits_below_1_6_are_not_found() {
    // The operation starts at 1.6, so the typed client refuses to send it at 1.5 ...
    let traits = TraitsClient::new(placement_at(ApiVersion::at(1, 5)).await);
    let refused = traits.list_traits(None).await.unwrap_err();
    assert!(matches!(refused, Error::Request { .. }), "{refused}");
    // ... and the server itself answers 404 at 1.5, which maps to NotFound.
    let raw = placement_at(ApiVersion::at(1, 5)).await;
    let err = raw
        .call(&PRE_TRAITS, squall::runtime::Request::new())
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::NotFound), "{err}");
    // At 1.6 the same client works.
    let ok = TraitsClient::new(placement_at(ApiVersion::at(1, 6)).await);
    let listed = ok.list_traits(None).await.expect("traits at 1.6");
    assert_eq!(listed.status, 200);
}

/// `GET /traits` described as if it existed at every version, to let the server answer 1.5.
static PRE_TRAITS: squall::runtime::OperationMeta = squall::runtime::OperationMeta {
    name: "list_traits_unchecked",
    service: &placement::SERVICE,
    root: false,
    versioned: true,
    spans: &[rt::op(rt::from(1, 0), "GET", "/traits", &[200])],
    variants: &[rt::body(
        rt::from(1, 0),
        0,
        &placement::schemas::LIST_TRAITS_V1_6,
    )],
};

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn stale_generation_at_1_23_is_conflict() {
    let version = ApiVersion::at(1, 23);
    let providers = ResourceProvidersClient::new(placement_at(version).await);
    let name = common::unique("rpgen");
    let req: placement::types::CreateResourceProviderRequestV1_14 = body(json!({"name": name}));
    let created = providers
        .create_resource_provider(&req.into())
        .await
        .expect("create");
    let resource_providers::CreateResourceProviderResponse::V1_20(provider) = created.body else {
        panic!("1.23 create must be the 1.20 variant");
    };
    let inventories = InventoriesClient::new(placement_at(version).await);
    let stale = json!({"resource_provider_generation": provider.generation + 7,
                       "inventories": {"VCPU": {"total": 4}}});
    let err = inventories
        .replace_inventories(
            &provider.uuid,
            &body::<placement::types::ReplaceInventoriesRequestV1_0>(stale).into(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Conflict), "{err}");
    let context = err.context().unwrap();
    assert!(
        context.body_text().contains("placement.concurrent_update"),
        "{}",
        context.body_text()
    );
    providers
        .delete_resource_provider(&provider.uuid)
        .await
        .expect("delete");
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn latest_selects_the_newest_variant() {
    let providers = ResourceProvidersClient::new(placement_at(ApiVersion::Latest).await);
    let listed = providers
        .list_resource_providers(None)
        .await
        .expect("list at latest");
    let answered = listed.version.expect("answered version");
    assert!(
        answered >= "1.39".parse().unwrap(),
        "latest answered {answered}"
    );
    let variant = resource_providers::LIST_RESOURCE_PROVIDERS
        .variant_for(answered)
        .expect("a variant covers the answered version");
    assert_eq!(
        variant,
        resource_providers::LIST_RESOURCE_PROVIDERS.variants.len() - 1
    );
    let name = format!("{:?}", listed.body);
    let newest = resource_providers::LIST_RESOURCE_PROVIDERS
        .variants
        .last()
        .unwrap()
        .span
        .variant_name();
    assert!(
        name.starts_with(&newest),
        "decoded {name}, expected variant {newest}"
    );
}
