//! Keypairs against the real Nova API with a real Keystone token.

mod common;

use serde_json::json;
use squall::clients::compute::{self, KeypairsClient, keypairs};
use squall::runtime::{ApiVersion, Error, HttpErrorKind};

async fn client(version: ApiVersion) -> KeypairsClient {
    KeypairsClient::new(common::service(&compute::SERVICE, version).await)
}

fn request<T: squall::runtime::Decode>(value: serde_json::Value) -> T {
    squall::runtime::decode::from_value(&value).expect("request body matches its type")
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_at_2_1_is_200_without_type() {
    let client = client(ApiVersion::at(2, 1)).await;
    let name = common::unique("kp21");
    let body: compute::types::CreateKeypairRequestV2_1 =
        request(json!({"keypair": {"name": name}}));
    let created = client
        .create_keypair(&body.into())
        .await
        .expect("create at 2.1");
    assert_eq!(created.status, 200);
    assert_eq!(created.version, Some("2.1".parse().unwrap()));
    let keypairs::CreateKeypairResponse::V2_1(v21) = &created.body else {
        panic!("2.1 must decode to the 2.1 variant, got {:?}", created.body);
    };
    assert_eq!(v21.keypair.name, name);
    assert!(
        v21.keypair.private_key.is_some(),
        "a generated keypair returns its private key"
    );
    assert!(
        !created.raw_text().contains("\"type\""),
        "no `type` before 2.2"
    );

    let deleted = client
        .delete_keypair(&name, None)
        .await
        .expect("delete at 2.1");
    assert_eq!(deleted.status, 202);
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_at_2_2_is_201_with_type_ssh() {
    let client = client(ApiVersion::at(2, 2)).await;
    let name = common::unique("kp22");
    let body: compute::types::CreateKeypairRequestV2_2 =
        request(json!({"keypair": {"name": name}}));
    let created = client
        .create_keypair(&body.into())
        .await
        .expect("create at 2.2");
    assert_eq!(created.status, 201);
    let keypairs::CreateKeypairResponse::V2_2(v22) = &created.body else {
        panic!("2.2 must decode to the 2.2 variant, got {:?}", created.body);
    };
    assert_eq!(
        serde_json::to_value(v22.keypair.type_).unwrap(),
        json!("ssh")
    );

    let shown = client.show_keypair(&name, None).await.expect("show at 2.2");
    assert!(
        matches!(shown.body, keypairs::ShowKeypairResponse::V2_2(_)),
        "{:?}",
        shown.body
    );

    let deleted = client
        .delete_keypair(&name, None)
        .await
        .expect("delete at 2.2");
    assert_eq!(deleted.status, 204);
    let gone = client.show_keypair(&name, None).await.unwrap_err();
    assert_eq!(gone.http_kind(), Some(HttpErrorKind::NotFound), "{gone}");
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn create_without_public_key_at_2_92_is_bad_request() {
    let client = client(ApiVersion::at(2, 92)).await;
    let name = common::unique("kp292");
    // The typed request ranges already refuse a pre-2.92 body (where the key was optional).
    let v210: compute::types::CreateKeypairRequestV2_10 =
        request(json!({"keypair": {"name": name}}));
    let refused = client.create_keypair(&v210.into()).await.unwrap_err();
    assert!(
        matches!(refused, Error::Request { .. }),
        "2.10 body at 2.92: {refused}"
    );

    // The server's own check: the same body sent untyped is a BadRequest.
    let err = send_untyped_create(&client, json!({"keypair": {"name": name}})).await;
    assert_eq!(err.http_kind(), Some(HttpErrorKind::BadRequest), "{err}");
    let context = err.context().expect("context");
    assert_eq!(context.operation, "compute.create_keypair");
    assert_eq!(context.status, Some(400));
    assert_eq!(context.requested, ApiVersion::at(2, 92));
}

/// Sends a body that no typed variant allows, the way a negative test must.
async fn send_untyped_create(client: &KeypairsClient, body: serde_json::Value) -> Error {
    use squall::runtime::{Decoder, Node, ServiceMeta, Span};
    #[derive(serde::Serialize)]
    struct Untyped(serde_json::Value);
    impl squall::runtime::VersionedRequest for Untyped {
        const NAME: &'static str = "Untyped";
        const SERVICE: &'static ServiceMeta = &compute::SERVICE;
        const SPANS: &'static [Span] = &[Span::open(2, 1)];
        fn index(&self) -> usize {
            0
        }
        fn decode_variant<'v>(_: usize, d: &mut Decoder<'v>, _: &'v Node) -> Option<Self> {
            d.fail("untyped bodies are only sent")
        }
    }
    let request = squall::runtime::Request::new().json(&Untyped(body));
    client
        .service_client()
        .call(&keypairs::CREATE_KEYPAIR, request)
        .await
        .map(|_| ())
        .expect_err("the server must refuse the body")
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn list_keypairs_switches_variant_by_answered_version() {
    for (version, expect) in [((2, 1), "V2_1"), ((2, 2), "V2_2"), ((2, 35), "V2_35")] {
        let client = client(ApiVersion::at(version.0, version.1)).await;
        let listed = client.list_keypairs(None).await.expect("list");
        let got = match listed.body {
            keypairs::ListKeypairsResponse::V2_1(_) => "V2_1",
            keypairs::ListKeypairsResponse::V2_2(_) => "V2_2",
            keypairs::ListKeypairsResponse::V2_35(_) => "V2_35",
        };
        assert_eq!(got, expect, "at {version:?}");
    }
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn list_keypairs_paginates_from_2_35() {
    let client = client(ApiVersion::at(2, 35)).await;
    let names = [common::unique("kpa"), common::unique("kpb")];
    for name in &names {
        let body: compute::types::CreateKeypairRequestV2_10 =
            request(json!({"keypair": {"name": name}}));
        client.create_keypair(&body.into()).await.expect("create");
    }
    let query = compute::types::ListKeypairsQueryV2_35 {
        limit: Some(1),
        ..Default::default()
    };
    let page = client
        .list_keypairs(Some(&query.into()))
        .await
        .expect("list with limit");
    let keypairs::ListKeypairsResponse::V2_35(page) = page.body else {
        panic!("2.35 must decode to the 2.35 variant");
    };
    assert_eq!(page.keypairs.len(), 1);
    assert!(
        page.keypairs_links.as_ref().is_some_and(|l| !l.is_empty()),
        "a limited page links to the next one"
    );
    for name in &names {
        client.delete_keypair(name, None).await.expect("delete");
    }
}

#[tokio::test]
#[ignore = "live: needs Nova (scripts/services.py up)"]
async fn blocking_facade_works_from_sync_code() {
    let client = client(ApiVersion::at(2, 2)).await;
    let handle = std::thread::spawn(move || {
        let runtime = squall::runtime::BlockingRuntime::new().unwrap();
        let blocking = squall::runtime::Blocking::new(client, runtime);
        blocking.run(|c| c.list_keypairs(None)).map(|r| r.status)
    });
    assert_eq!(handle.join().unwrap().expect("blocking list"), 200);
}
