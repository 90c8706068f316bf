//! Flavors against the real Nova API: the detail listing decodes to different typed variants at
//! 2.55 and 2.75.

mod common;

use serde_json::{Value, json};
use squall::clients::compute::{self, FlavorsClient, flavors};
use squall::runtime::{ApiVersion, HttpErrorKind};

async fn client(version: ApiVersion) -> FlavorsClient {
    FlavorsClient::new(common::service(&compute::SERVICE, version).await)
}

fn find(listing: &Value, name: &str) -> Value {
    listing["flavors"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("flavor {name} not listed"))
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn detail_at_2_55_and_2_75_decode_to_different_variants() {
    let name = common::unique("flv");
    let admin = client(ApiVersion::at(2, 55)).await;
    let mut flavor = compute::types::CreateFlavorRequestFlavorV2_55::new(1, &name, 64, 1);
    flavor.description = Some("squall test".to_owned());
    let body = compute::types::CreateFlavorRequestV2_55 { flavor };
    let created = admin
        .create_flavor(&body.into())
        .await
        .expect("create flavor at 2.55");
    let flavors::CreateFlavorResponse::V2_55(created_body) = &created.body else {
        panic!("2.55 answer must be the 2.55 variant: {:?}", created.body);
    };
    let id = created_body.flavor.id.clone();

    let old = admin
        .list_flavors_detail(None)
        .await
        .expect("detail at 2.55");
    let flavors::ListFlavorsDetailResponse::V2_55(old_body) = &old.body else {
        panic!("2.55 detail must be the 2.55 variant: {:?}", old.body);
    };
    assert!(old_body.flavors.iter().any(|f| f.name == name));
    let old_flavor = find(&serde_json::from_slice(&old.raw).unwrap(), &name);
    assert_eq!(
        old_flavor["swap"],
        json!(""),
        "swap is the empty string before 2.75"
    );
    assert!(
        old_flavor.get("extra_specs").is_none(),
        "no extra_specs before 2.61"
    );
    assert_eq!(old_flavor["description"], json!("squall test"));

    let new = client(ApiVersion::at(2, 75)).await;
    let listed = new.list_flavors_detail(None).await.expect("detail at 2.75");
    let flavors::ListFlavorsDetailResponse::V2_75(new_body) = &listed.body else {
        panic!("2.75 detail must be the 2.75 variant: {:?}", listed.body);
    };
    assert!(new_body.flavors.iter().any(|f| f.name == name));
    let new_flavor = find(&serde_json::from_slice(&listed.raw).unwrap(), &name);
    assert_eq!(new_flavor["swap"], json!(0), "swap is 0 from 2.75");
    assert_eq!(
        new_flavor["extra_specs"],
        json!({}),
        "extra_specs present from 2.61"
    );

    let deleted = new.delete_flavor(&id).await.expect("delete flavor");
    assert_eq!(deleted.status, 202);
    let gone = new.show_flavor(&id, None).await.unwrap_err();
    assert_eq!(gone.http_kind(), Some(HttpErrorKind::NotFound), "{gone}");
}
