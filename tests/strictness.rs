//! Strictness, checked against the in-process **fake** fault server of
//! `squall_testing::fake`, answering every request with a canned response. The real Nova never
//! sends these bodies on demand (unknown fields, wrong types, a wrong answered version), so this
//! is the one place a fake is used; everything else runs against the real services.

use std::sync::Arc;

use serde_json::json;
use squall::clients::compute::{self, KeypairsClient, keypairs};
use squall::runtime::{ApiVersion, Error, HttpErrorKind, ProtocolFault, RestClient, ServiceClient};
use squall_testing::fake::{self, FakeFaultServer, Fault};

/// A canned HTTP response.
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

/// Starts the fake server; it answers every request with `canned` and returns its URL.
async fn fault_injector(canned: Canned) -> String {
    let mut response = fake::Canned::new(canned.status).body(canned.body);
    for (name, value) in &canned.headers {
        response = response.header(name, value);
    }
    FakeFaultServer::always(Fault::Respond(response))
        .await
        .unwrap()
        .detach("/v2.1")
}

fn json_headers(version: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Content-Type", "application/json".to_owned()),
        ("OpenStack-API-Version", format!("compute {version}")),
    ]
}

async fn keypairs_at(canned: Canned, version: ApiVersion) -> KeypairsClient {
    let url = fault_injector(canned).await;
    let rest = Arc::new(RestClient::new().unwrap());
    KeypairsClient::new(
        ServiceClient::new(rest, &url, &compute::SERVICE).with_microversion(version),
    )
}

fn create_body() -> keypairs::CreateKeypairRequest {
    let body: compute::types::CreateKeypairRequestV2_2 =
        squall::runtime::decode::from_value(&json!({"keypair": {"name": "k"}})).unwrap();
    body.into()
}

fn good_keypair() -> serde_json::Value {
    json!({"keypair": {"fingerprint": "f", "name": "k", "public_key": "ssh-rsa AAA", "private_key": "x",
                        "user_id": "u1", "type": "ssh"}})
}

#[tokio::test]
async fn a_valid_body_decodes() {
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: good_keypair().to_string(),
    };
    let client = keypairs_at(canned, ApiVersion::at(2, 2)).await;
    let ok = client
        .create_keypair(&create_body())
        .await
        .expect("valid body");
    assert!(matches!(ok.body, keypairs::CreateKeypairResponse::V2_2(_)));
}

#[tokio::test]
async fn unknown_field_names_operation_version_and_pointer() {
    let mut body = good_keypair();
    body["keypair"]["surprise"] = json!(1);
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: body.to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    let Error::Validation {
        pointer, context, ..
    } = &err
    else {
        panic!("expected a validation error: {err}")
    };
    assert_eq!(pointer, "/keypair", "{err}");
    assert!(err.to_string().contains("surprise"), "{err}");
    assert_eq!(context.operation, "compute.create_keypair");
    assert_eq!(context.version(), "2.2");
    assert!(context.body_text().contains("surprise"), "the body is kept");
    let message = err.to_string();
    assert!(
        message.contains("compute.create_keypair") && message.contains("2.2"),
        "{message}"
    );
}

#[tokio::test]
async fn unknown_field_is_caught_by_the_typed_decode_alone() {
    let mut body = good_keypair();
    body["keypair"]["surprise"] = json!(1);
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: body.to_string(),
    };
    let url = fault_injector(canned).await;
    let rest = Arc::new(
        RestClient::new()
            .unwrap()
            .with_validation(squall::runtime::Validation::TypedOnly),
    );
    let client = KeypairsClient::new(
        ServiceClient::new(rest, &url, &compute::SERVICE).with_microversion(ApiVersion::at(2, 2)),
    );
    let err = client.create_keypair(&create_body()).await.unwrap_err();
    let Error::Validation {
        pointer, message, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(pointer, "/keypair", "the object, as the schema reports it");
    assert_eq!(message, "unknown field `surprise`");
}

#[tokio::test]
async fn wrong_type_names_the_pointer() {
    let mut body = good_keypair();
    body["keypair"]["user_id"] = json!(42);
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: body.to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    let Error::Validation {
        pointer, context, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(pointer, "/keypair/user_id");
    assert_eq!(context.operation, "compute.create_keypair");
    assert_eq!(context.version(), "2.2");
}

#[tokio::test]
async fn schema_constraints_beyond_types_are_checked() {
    let mut body = good_keypair();
    body["keypair"]["user_id"] = json!("not valid!");
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: body.to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    let Error::Validation { pointer, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(pointer, "/keypair/user_id", "pattern violation: {err}");
}

#[tokio::test]
async fn answered_version_must_match_the_request() {
    let canned = Canned {
        status: 201,
        headers: json_headers("2.3"),
        body: good_keypair().to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    assert_eq!(
        err.protocol_fault(),
        Some(&ProtocolFault::VersionMismatch),
        "{err}"
    );
    let context = err.context().unwrap();
    assert_eq!(context.operation, "compute.create_keypair");
    assert_eq!(context.requested, ApiVersion::at(2, 2));
    assert_eq!(context.answered, Some("2.3".parse().unwrap()));
}

#[tokio::test]
async fn a_missing_version_header_is_an_error() {
    let canned = Canned {
        status: 201,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: good_keypair().to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.protocol_fault(),
            Some(ProtocolFault::MissingVersionHeader { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn a_status_the_version_does_not_allow_is_an_error() {
    let canned = Canned {
        status: 200,
        headers: json_headers("2.2"),
        body: good_keypair().to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    assert_eq!(
        err.protocol_fault(),
        Some(&ProtocolFault::InvalidHttpSuccessCode { allowed: vec![201] }),
        "{err}"
    );
}

#[tokio::test]
async fn a_malformed_body_is_an_error_with_the_body_kept() {
    let canned = Canned {
        status: 201,
        headers: json_headers("2.2"),
        body: "{\"keypair\": ".to_owned(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .create_keypair(&create_body())
        .await
        .unwrap_err();
    let Error::Validation { context, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(context.body_text(), "{\"keypair\": ");
}

#[tokio::test]
async fn a_body_where_the_schema_allows_none_is_an_error() {
    // (A body on a 204 never reaches the client: HTTP/1.1 framing drops it.)
    let canned = Canned {
        status: 202,
        headers: json_headers("2.1"),
        body: "{}".to_owned(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 1))
        .await
        .delete_keypair("k", None)
        .await
        .unwrap_err();
    assert_eq!(
        err.protocol_fault(),
        Some(&ProtocolFault::InvalidHttpResponseBody),
        "{err}"
    );
}

#[tokio::test]
async fn server_faults_map_like_tempest() {
    let canned = Canned {
        status: 500,
        headers: json_headers("2.2"),
        body: json!({"computeFault": {"code": 500, "message": "it broke"}}).to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .list_keypairs(None)
        .await
        .unwrap_err();
    let Error::Http { kind, message, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*kind, HttpErrorKind::ServerFault);
    assert_eq!(message, "it broke");

    let canned = Canned {
        status: 413,
        headers: vec![("Content-Type", "application/json".to_owned())],
        body: json!({"overLimit": {"code": 413, "message": "Quota exceeded for keypairs"}})
            .to_string(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .list_keypairs(None)
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::OverLimit));

    let canned = Canned {
        status: 400,
        headers: vec![("Content-Type", "application/octet-stream".to_owned())],
        body: "\u{1}\u{2}".to_owned(),
    };
    let err = keypairs_at(canned, ApiVersion::at(2, 2))
        .await
        .list_keypairs(None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.protocol_fault(),
            Some(ProtocolFault::UnexpectedContentType { .. })
        ),
        "{err}"
    );
}
