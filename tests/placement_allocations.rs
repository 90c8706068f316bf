//! Placement's allocations, allocation candidates and reshaper against the real service: every
//! microversion the server answers (up to the specs' maximum), each answer decoded strictly to
//! the variant of the answered version. Every test works on resource classes and traits of its
//! own (`CUSTOM_SQ_...`), so the providers Nova's computes register never show up, and removes
//! what it created (also when it fails, through [`Created`]'s `Drop`).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use squall::clients::placement::allocation_candidates::{
    ListAllocationCandidatesQuery, ListAllocationCandidatesResponse,
};
use squall::clients::placement::allocations::{
    ListAllocationsResponse, ListProviderAllocationsResponse, ManageAllocationsRequest,
    ReshapeRequest, UpdateAllocationsRequest,
};
use squall::clients::placement::resource_providers::{
    CreateResourceProviderResponse, ShowResourceProviderResponse,
};
use squall::clients::placement::{
    self, AggregatesClient, AllocationCandidatesClient, AllocationsClient, InventoriesClient,
    ResourceClassesClient, ResourceProvidersClient, TraitsClient, VersionsClient, types,
};
use squall::runtime::{ApiVersion, Error, HttpErrorKind, ServiceClient};

const PROJECT: &str = "squall-project";
const USER: &str = "squall-user";

fn body<T: squall::runtime::Decode>(value: Value) -> T {
    squall::runtime::decode::from_value(&value).expect("request body matches its type")
}

fn v(minor: u32) -> ApiVersion {
    ApiVersion::at(1, minor)
}

/// A UUID-shaped consumer id unique to this run (Placement only checks the shape).
fn consumer_uuid() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let count = u128::from(COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let n = nanos ^ (u128::from(std::process::id()) << 96) ^ (count << 64);
    let hex = format!("{n:032x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// A name for a custom resource class or trait, unique to this run.
fn custom(tag: &str) -> String {
    let unique = common::unique(tag).replace('-', "_").to_uppercase();
    format!(
        "CUSTOM_SQ_{unique}_{}",
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    )
}

/// What a test created, removed at the end: allocations of its consumers, its providers
/// (children first), its resource classes and traits. [`Created::finish`] removes them and
/// asserts that each removal worked; if the test fails before, `Drop` removes them on a thread
/// of its own.
#[derive(Debug, Default)]
struct Created {
    consumers: Vec<String>,
    providers: Vec<String>,
    classes: Vec<String>,
    traits: Vec<String>,
}

impl Created {
    async fn remove(&mut self, svc: &ServiceClient) -> Vec<String> {
        let mut failures = Vec::new();
        let allocations = AllocationsClient::new(svc.clone().with_microversion(v(28)));
        for consumer in std::mem::take(&mut self.consumers) {
            match allocations.delete_allocations(&consumer).await {
                Ok(_) => {}
                // Tests delete most of their consumers' allocations themselves.
                Err(e) if e.http_kind() == Some(HttpErrorKind::NotFound) => {}
                Err(e) => failures.push(format!("allocations of {consumer}: {e}")),
            }
        }
        let providers = ResourceProvidersClient::new(svc.clone().with_microversion(v(14)));
        for provider in std::mem::take(&mut self.providers).iter().rev() {
            if let Err(e) = providers.delete_resource_provider(provider).await {
                failures.push(format!("provider {provider}: {e}"));
            }
        }
        let classes = ResourceClassesClient::new(svc.clone().with_microversion(v(7)));
        for class in std::mem::take(&mut self.classes) {
            if let Err(e) = classes.delete_resource_class(&class).await {
                failures.push(format!("resource class {class}: {e}"));
            }
        }
        let traits = TraitsClient::new(svc.clone().with_microversion(v(6)));
        for name in std::mem::take(&mut self.traits) {
            if let Err(e) = traits.delete_trait(&name).await {
                failures.push(format!("trait {name}: {e}"));
            }
        }
        failures
    }
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.consumers.is_empty()
            && self.providers.is_empty()
            && self.classes.is_empty()
            && self.traits.is_empty()
        {
            return;
        }
        let mut rest = std::mem::take(self);
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async {
                let svc = common::service(&placement::SERVICE, v(39)).await;
                rest.remove(&svc).await
            })
        });
        match cleanup.join() {
            Ok(failures) => failures
                .iter()
                .for_each(|f| eprintln!("placement cleanup: {f}")),
            Err(_) => eprintln!("placement cleanup panicked"),
        }
    }
}

/// A Placement session plus what the test created.
struct Env {
    svc: ServiceClient,
    /// The highest minor version both the server and the specs know.
    max: u32,
    created: Created,
}

impl Env {
    async fn new() -> Self {
        let svc = common::service(&placement::SERVICE, v(39)).await;
        let versions = VersionsClient::new(svc.clone())
            .list_versions()
            .await
            .expect("version document");
        let server_max: squall::runtime::Microversion = versions.body.versions[0]
            .max_version
            .parse()
            .expect("max_version");
        let max = server_max.minor.min(placement::SERVICE.max_version.minor);
        assert!(max >= 30, "Placement answers only up to 1.{max}");
        Self {
            svc,
            max,
            created: Created::default(),
        }
    }

    fn at(&self, minor: u32) -> ServiceClient {
        self.svc.clone().with_microversion(v(minor))
    }

    async fn resource_class(&mut self, tag: &str) -> String {
        let name = custom(tag);
        ResourceClassesClient::new(self.at(7))
            .ensure_resource_class(&name)
            .await
            .expect("create resource class");
        self.created.classes.push(name.clone());
        name
    }

    async fn trait_named(&mut self, tag: &str) -> String {
        let name = custom(tag);
        TraitsClient::new(self.at(6))
            .create_trait(&name)
            .await
            .expect("create trait");
        self.created.traits.push(name.clone());
        name
    }

    fn consumer(&mut self) -> String {
        let id = consumer_uuid();
        self.created.consumers.push(id.clone());
        id
    }

    /// A provider (under `parent`, if given) with `total` of each class.
    async fn provider(&mut self, parent: Option<&str>, inventory: &[(&str, i64)]) -> String {
        let providers = ResourceProvidersClient::new(self.at(20));
        let request: types::CreateResourceProviderRequestV1_14 =
            body(json!({"name": common::unique("sq-alloc"), "parent_provider_uuid": parent}));
        let created = providers
            .create_resource_provider(&request.into())
            .await
            .expect("create provider");
        let CreateResourceProviderResponse::V1_20(provider) = created.body else {
            panic!("1.20 create answers the provider: {:?}", created.body);
        };
        self.created.providers.push(provider.uuid.clone());
        if !inventory.is_empty() {
            let inventories: BTreeMap<&str, Value> = inventory
                .iter()
                .map(|(class, total)| (*class, json!({"total": total})))
                .collect();
            self.set_inventories(&provider.uuid, json!(inventories))
                .await;
        }
        provider.uuid.clone()
    }

    async fn set_inventories(&self, provider: &str, inventories: Value) {
        let generation = self.generation(provider).await;
        let request: types::ReplaceInventoriesRequestV1_0 = body(json!({
            "resource_provider_generation": generation, "inventories": inventories}));
        InventoriesClient::new(self.at(20))
            .replace_inventories(provider, &request.into())
            .await
            .expect("set inventories");
    }

    async fn generation(&self, provider: &str) -> i64 {
        let shown = ResourceProvidersClient::new(self.at(20))
            .show_resource_provider(provider)
            .await
            .expect("show provider");
        match shown.body {
            ShowResourceProviderResponse::V1_14(p) => p.generation,
            other => panic!("1.20 shows the 1.14 variant: {other:?}"),
        }
    }

    async fn set_traits(&self, provider: &str, traits: &[&str]) {
        let request: types::SetProviderTraitsRequestV1_6 = body(json!({
            "traits": traits, "resource_provider_generation": self.generation(provider).await}));
        TraitsClient::new(self.at(6))
            .set_provider_traits(provider, &request.into())
            .await
            .expect("set traits");
    }

    async fn set_aggregates(&self, provider: &str, aggregates: &[&str]) {
        let request: types::SetProviderAggregatesRequestV1_19 = body(json!({
            "aggregates": aggregates,
            "resource_provider_generation": self.generation(provider).await}));
        AggregatesClient::new(self.at(19))
            .set_provider_aggregates(provider, &request.into())
            .await
            .expect("set aggregates");
    }

    /// Removes everything and asserts that each removal worked.
    async fn finish(mut self) {
        let failures = self.created.remove(&self.svc).await;
        assert!(failures.is_empty(), "cleanup failed: {failures:#?}");
    }
}

/// The `PUT /allocations/{consumer}` body of version 1.`minor`, written as each version wants it.
fn update_body(
    minor: u32,
    provider: &str,
    class: &str,
    amount: i64,
    generation: Option<i64>,
) -> UpdateAllocationsRequest {
    let resources = json!({ class: amount });
    let listed =
        json!({"allocations": [{"resource_provider": {"uuid": provider}, "resources": resources}]});
    let mut keyed = json!({"allocations": {provider: {"resources": resources}},
                           "project_id": PROJECT, "user_id": USER});
    if minor >= 28 {
        keyed["consumer_generation"] = json!(generation);
    }
    if minor >= 34 {
        keyed["mappings"] = json!({"": [provider]});
    }
    if minor >= 38 {
        keyed["consumer_type"] = json!("INSTANCE");
    }
    match minor {
        0..=7 => UpdateAllocationsRequest::V1_0(body(listed)),
        8..=11 => {
            let mut with_owner = listed;
            with_owner["project_id"] = json!(PROJECT);
            with_owner["user_id"] = json!(USER);
            UpdateAllocationsRequest::V1_8(body(with_owner))
        }
        12..=27 => UpdateAllocationsRequest::V1_12(body(keyed)),
        28..=33 => UpdateAllocationsRequest::V1_28(body(keyed)),
        34..=37 => UpdateAllocationsRequest::V1_34(body(keyed)),
        _ => UpdateAllocationsRequest::V1_38(body(keyed)),
    }
}

/// What `GET /allocations/{consumer}` said, whatever the variant; the variant must be the
/// one of version 1.`minor`.
#[derive(Debug, Default, PartialEq)]
struct ConsumerView {
    /// Provider -> (provider generation, class -> amount).
    allocations: BTreeMap<String, (i64, BTreeMap<String, i64>)>,
    project_id: Option<String>,
    user_id: Option<String>,
    consumer_generation: Option<i64>,
    consumer_type: Option<String>,
}

fn consumer_view(minor: u32, body: &ListAllocationsResponse) -> ConsumerView {
    fn allocations(
        a: &types::ConsumerAllocationsAllocationsV1_0,
    ) -> BTreeMap<String, (i64, BTreeMap<String, i64>)> {
        a.iter()
            .map(|(rp, a)| (rp.clone(), (a.generation, a.resources.clone())))
            .collect()
    }
    match (minor, body) {
        (0..=11, ListAllocationsResponse::V1_0(a)) => ConsumerView {
            allocations: allocations(&a.allocations),
            ..ConsumerView::default()
        },
        (12..=27, ListAllocationsResponse::V1_12(a)) => ConsumerView {
            allocations: allocations(&a.allocations),
            project_id: a.project_id.clone(),
            user_id: a.user_id.clone(),
            ..ConsumerView::default()
        },
        (28..=37, ListAllocationsResponse::V1_28(a)) => ConsumerView {
            allocations: allocations(&a.allocations),
            project_id: a.project_id.clone(),
            user_id: a.user_id.clone(),
            consumer_generation: a.consumer_generation,
            ..ConsumerView::default()
        },
        (38.., ListAllocationsResponse::V1_38(a)) => ConsumerView {
            allocations: allocations(&a.allocations),
            project_id: a.project_id.clone(),
            user_id: a.user_id.clone(),
            consumer_generation: a.consumer_generation,
            consumer_type: a.consumer_type.clone(),
        },
        (minor, other) => panic!("1.{minor} decoded to the wrong variant: {other:?}"),
    }
}

/// What `GET /resource_providers/{uuid}/allocations` said: the provider generation and, per
/// consumer, the amounts and (from 1.28) the consumer generation.
type ProviderView = (i64, BTreeMap<String, (BTreeMap<String, i64>, Option<i64>)>);

fn provider_view(minor: u32, body: &ListProviderAllocationsResponse) -> ProviderView {
    match (minor, body) {
        (0..=27, ListProviderAllocationsResponse::V1_0(a)) => (
            a.resource_provider_generation,
            a.allocations
                .iter()
                .map(|(c, a)| (c.clone(), (a.resources.clone(), None)))
                .collect(),
        ),
        (28.., ListProviderAllocationsResponse::V1_28(a)) => (
            a.resource_provider_generation,
            a.allocations
                .iter()
                .map(|(c, a)| {
                    (
                        c.clone(),
                        (a.resources.clone(), Some(a.consumer_generation)),
                    )
                })
                .collect(),
        ),
        (minor, other) => panic!("1.{minor} decoded to the wrong variant: {other:?}"),
    }
}

/// `Last-Modified` and `Cache-Control: no-cache` come with reads from 1.15 on, never before.
fn assert_cache_headers<T>(minor: u32, response: &squall::runtime::Response<T>) {
    let cache = response.header("Cache-Control");
    let modified = response.header("Last-Modified");
    if minor >= 15 {
        assert_eq!(cache, Some("no-cache"), "1.{minor}");
        assert!(modified.is_some(), "1.{minor}: no Last-Modified");
    } else {
        assert_eq!((cache, modified), (None, None), "1.{minor}");
    }
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn allocations_are_written_read_and_deleted_at_every_version() {
    let mut env = Env::new().await;
    let class = env.resource_class("ALLOC").await;
    let provider = env.provider(None, &[(&class, 100)]).await;
    for minor in 0..=env.max {
        let client = AllocationsClient::new(env.at(minor));
        let consumer = env.consumer();
        let amount = i64::from(minor) + 1;
        let put = client
            .update_allocations(
                &consumer,
                &update_body(minor, &provider, &class, amount, None),
            )
            .await
            .unwrap_or_else(|e| panic!("PUT at 1.{minor}: {e}"));
        assert_eq!(put.status, 204, "1.{minor}");
        assert!(put.raw.is_empty());

        let read = client
            .list_allocations(&consumer)
            .await
            .unwrap_or_else(|e| panic!("GET at 1.{minor}: {e}"));
        assert_eq!(
            read.version,
            Some(squall::runtime::Microversion::new(1, minor))
        );
        assert_cache_headers(minor, &read);
        let seen = consumer_view(minor, &read.body);
        let on_provider = client
            .list_provider_allocations(&provider)
            .await
            .unwrap_or_else(|e| panic!("GET provider allocations at 1.{minor}: {e}"));
        assert_cache_headers(minor, &on_provider);
        let (provider_generation, by_consumer) = provider_view(minor, &on_provider.body);

        let resources = BTreeMap::from([(class.clone(), amount)]);
        assert_eq!(
            seen.allocations,
            BTreeMap::from([(provider.clone(), (provider_generation, resources.clone()))]),
            "1.{minor}"
        );
        let owner = (minor >= 12).then(|| PROJECT.to_owned());
        assert_eq!(seen.project_id, owner, "1.{minor}");
        assert_eq!(seen.user_id, owner.as_ref().map(|_| USER.to_owned()));
        // A new consumer's first write gives it generation 1.
        let generation = (minor >= 28).then_some(1);
        assert_eq!(seen.consumer_generation, generation, "1.{minor}");
        let kind = (minor >= 38).then(|| "INSTANCE".to_owned());
        assert_eq!(seen.consumer_type, kind, "1.{minor}");
        assert_eq!(
            by_consumer.get(&consumer),
            Some(&(resources, generation)),
            "1.{minor}"
        );

        let deleted = client
            .delete_allocations(&consumer)
            .await
            .unwrap_or_else(|e| panic!("DELETE at 1.{minor}: {e}"));
        assert_eq!(deleted.status, 204);
        let gone = client
            .list_allocations(&consumer)
            .await
            .expect("GET after DELETE");
        assert_eq!(
            consumer_view(minor, &gone.body),
            ConsumerView::default(),
            "1.{minor}"
        );
    }
    // Deleting what is not there is a 404, and more than the inventory holds a 409.
    let client = AllocationsClient::new(env.at(env.max));
    let nobody = env.consumer();
    let err = client.delete_allocations(&nobody).await.unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::NotFound), "{err}");
    let err = client
        .update_allocations(&nobody, &update_body(env.max, &provider, &class, 101, None))
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Conflict), "{err}");
    env.finish().await;
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn consumer_generations_guard_writes_from_1_28() {
    let mut env = Env::new().await;
    let class = env.resource_class("GEN").await;
    let provider = env.provider(None, &[(&class, 10)]).await;

    // Before 1.28 a second write needs no generation.
    let old = AllocationsClient::new(env.at(27));
    let consumer = env.consumer();
    for amount in [1, 2] {
        old.update_allocations(&consumer, &update_body(27, &provider, &class, amount, None))
            .await
            .expect("PUT at 1.27");
    }

    let client = AllocationsClient::new(env.at(28));
    let consumer = env.consumer();
    client
        .update_allocations(&consumer, &update_body(28, &provider, &class, 1, None))
        .await
        .expect("first PUT with a null generation");
    // Saying "new consumer" again is stale now.
    let err = client
        .update_allocations(&consumer, &update_body(28, &provider, &class, 2, None))
        .await
        .unwrap_err();
    assert_eq!(err.http_kind(), Some(HttpErrorKind::Conflict), "{err}");
    assert!(
        err.context()
            .unwrap()
            .body_text()
            .contains("placement.concurrent_update"),
        "{err}"
    );
    let read = client.list_allocations(&consumer).await.expect("GET");
    let generation = consumer_view(28, &read.body)
        .consumer_generation
        .expect("a generation");
    client
        .update_allocations(
            &consumer,
            &update_body(28, &provider, &class, 3, Some(generation)),
        )
        .await
        .expect("PUT with the generation read");
    let read = consumer_view(28, &client.list_allocations(&consumer).await.unwrap().body);
    assert_eq!(read.consumer_generation, Some(generation + 1));
    assert_eq!(read.allocations[&provider].1[&class], 3);

    // An empty `allocations` with the current generation removes them (the safe delete).
    let empty: types::UpdateAllocationsRequestV1_28 = body(json!({
        "allocations": {}, "project_id": PROJECT, "user_id": USER,
        "consumer_generation": generation + 1}));
    client
        .update_allocations(&consumer, &UpdateAllocationsRequest::V1_28(empty))
        .await
        .expect("PUT of no allocations");
    let read = client.list_allocations(&consumer).await.unwrap();
    assert_eq!(consumer_view(28, &read.body), ConsumerView::default());
    env.finish().await;
}

/// The `POST /allocations` body of version 1.`minor`: per consumer, an amount on the provider
/// (or none, to remove its allocations) and its generation.
fn manage_body(
    minor: u32,
    provider: &str,
    class: &str,
    consumers: &[(&str, Option<i64>, Option<i64>)],
) -> ManageAllocationsRequest {
    let mut all = serde_json::Map::new();
    for (consumer, amount, generation) in consumers {
        let allocations = match amount {
            Some(n) => json!({provider: {"resources": {class: n}}}),
            None => json!({}),
        };
        let mut one = json!({"allocations": allocations, "project_id": PROJECT, "user_id": USER});
        if minor >= 28 {
            one["consumer_generation"] = json!(generation);
        }
        if minor >= 34 && amount.is_some() {
            one["mappings"] = json!({"": [provider]});
        }
        if minor >= 38 {
            one["consumer_type"] = json!("MIGRATION");
        }
        all.insert((*consumer).to_owned(), one);
    }
    let all = Value::Object(all);
    match minor {
        13..=27 => ManageAllocationsRequest::V1_13(body(all)),
        28..=33 => ManageAllocationsRequest::V1_28(body(all)),
        34..=37 => ManageAllocationsRequest::V1_34(body(all)),
        _ => ManageAllocationsRequest::V1_38(body(all)),
    }
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn several_consumers_are_written_at_once_from_1_13() {
    let mut env = Env::new().await;
    let class = env.resource_class("MANAGE").await;
    let provider = env.provider(None, &[(&class, 100)]).await;

    // Before 1.13 there is no such operation: the typed client does not send it.
    let early = AllocationsClient::new(env.at(12));
    let refused = early
        .manage_allocations(&manage_body(13, &provider, &class, &[]))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Request { .. }), "{refused}");

    for minor in 13..=env.max {
        let client = AllocationsClient::new(env.at(minor));
        let (first, second) = (env.consumer(), env.consumer());
        let posted = client
            .manage_allocations(&manage_body(
                minor,
                &provider,
                &class,
                &[(&first, Some(2), None), (&second, Some(3), None)],
            ))
            .await
            .unwrap_or_else(|e| panic!("POST at 1.{minor}: {e}"));
        assert_eq!(posted.status, 204);
        let listed = client.list_provider_allocations(&provider).await.unwrap();
        let (_, by_consumer) = provider_view(minor, &listed.body);
        assert_eq!(by_consumer[&first].0[&class], 2, "1.{minor}");
        assert_eq!(by_consumer[&second].0[&class], 3, "1.{minor}");
        if minor >= 38 {
            let read = client.list_allocations(&first).await.unwrap();
            let kind = consumer_view(minor, &read.body).consumer_type;
            assert_eq!(kind.as_deref(), Some("MIGRATION"));
        }

        // Empty allocations remove the first consumer's; the second keeps its own.
        let removal = manage_body(minor, &provider, &class, &[(&first, None, Some(1))]);
        client
            .manage_allocations(&removal)
            .await
            .unwrap_or_else(|e| panic!("POST removal at 1.{minor}: {e}"));
        let listed = client.list_provider_allocations(&provider).await.unwrap();
        let (_, by_consumer) = provider_view(minor, &listed.body);
        assert!(!by_consumer.contains_key(&first), "1.{minor}");
        assert!(by_consumer.contains_key(&second), "1.{minor}");
        client.delete_allocations(&second).await.expect("DELETE");
    }
    env.finish().await;
}

/// What `GET /allocation_candidates` said, whatever the variant; the variant must be the one
/// of version 1.`minor`.
#[derive(Debug, Default)]
struct Candidates {
    /// Each allocation request: provider -> class -> amount, and (from 1.34) its mappings.
    requests: Vec<(Amounts, Option<Mappings>)>,
    summaries: BTreeMap<String, Summary>,
}

/// Provider -> class -> amount.
type Amounts = BTreeMap<String, BTreeMap<String, i64>>;
/// Request group suffix -> providers.
type Mappings = BTreeMap<String, Vec<String>>;

#[derive(Debug, Default, PartialEq)]
struct Summary {
    /// Class -> (capacity, used).
    resources: BTreeMap<String, (i64, i64)>,
    /// From 1.17.
    traits: Option<Vec<String>>,
    /// From 1.29: (parent, root).
    tree: Option<(Option<String>, String)>,
}

fn summary(s: &types::ProviderSummaryV1_10) -> Summary {
    Summary {
        resources: s
            .resources
            .iter()
            .map(|(class, c)| (class.clone(), (c.capacity, c.used)))
            .collect(),
        ..Summary::default()
    }
}

fn summary_17(s: &types::ProviderSummaryV1_17) -> Summary {
    Summary {
        traits: Some(s.traits.clone()),
        ..summary(s)
    }
}

fn summary_29(s: &types::ProviderSummaryV1_29) -> Summary {
    Summary {
        tree: Some((s.parent_provider_uuid.clone(), s.root_provider_uuid.clone())),
        ..summary_17(s)
    }
}

fn keyed(request: &types::AllocationRequestV1_12) -> Amounts {
    request
        .allocations
        .iter()
        .map(|(rp, a)| (rp.clone(), a.resources.clone()))
        .collect()
}

fn candidates(minor: u32, body: &ListAllocationCandidatesResponse) -> Candidates {
    use ListAllocationCandidatesResponse as R;
    fn all<S>(m: &BTreeMap<String, S>, f: impl Fn(&S) -> Summary) -> BTreeMap<String, Summary> {
        m.iter().map(|(rp, s)| (rp.clone(), f(s))).collect()
    }
    match (minor, body) {
        (10..=11, R::V1_10(c)) => Candidates {
            requests: c
                .allocation_requests
                .iter()
                .map(|r| {
                    let amounts = r
                        .allocations
                        .iter()
                        .map(|a| (a.resource_provider.uuid.clone(), a.resources.clone()))
                        .collect();
                    (amounts, None)
                })
                .collect(),
            summaries: all(&c.provider_summaries, summary),
        },
        (12..=16, R::V1_12(c)) => Candidates {
            requests: c
                .allocation_requests
                .iter()
                .map(|r| (keyed(r), None))
                .collect(),
            summaries: all(&c.provider_summaries, summary),
        },
        (17..=28, R::V1_17(c)) => Candidates {
            requests: c
                .allocation_requests
                .iter()
                .map(|r| (keyed(r), None))
                .collect(),
            summaries: all(&c.provider_summaries, summary_17),
        },
        (29..=33, R::V1_29(c)) => Candidates {
            requests: c
                .allocation_requests
                .iter()
                .map(|r| (keyed(r), None))
                .collect(),
            summaries: all(&c.provider_summaries, summary_29),
        },
        (34.., R::V1_34(c)) => Candidates {
            requests: c
                .allocation_requests
                .iter()
                .map(|r| (keyed(r), Some(r.mappings.clone())))
                .collect(),
            summaries: all(&c.provider_summaries, summary_29),
        },
        (minor, other) => panic!("1.{minor} decoded to the wrong variant: {other:?}"),
    }
}

/// A query in the map form of 1.25 and later, as the variant of `1.minor` (each later
/// version's map form is its own type: its keys' constraints differ).
fn map_query(minor: u32, query: Value) -> ListAllocationCandidatesQuery {
    <ListAllocationCandidatesQuery as squall::runtime::VersionedRequest>::from_json_at(
        ApiVersion::at(1, minor),
        query,
    )
    .expect("a JSON object")
}

async fn list_candidates(
    env: &Env,
    minor: u32,
    query: &ListAllocationCandidatesQuery,
) -> Result<Candidates, Error> {
    let answer = AllocationCandidatesClient::new(env.at(minor))
        .list_allocation_candidates(Some(query))
        .await?;
    assert_cache_headers(minor, &answer);
    Ok(candidates(minor, &answer.body))
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn allocation_candidates_at_every_version() {
    let mut env = Env::new().await;
    let (wanted, other) = (
        env.resource_class("CAND").await,
        env.resource_class("OTHER").await,
    );
    let (with, also) = (env.trait_named("WITH").await, env.trait_named("ALSO").await);
    let aggregate = consumer_uuid();
    // `first` has the trait, the aggregate and a second class; `second` only the wanted class.
    let first = env.provider(None, &[(&wanted, 10), (&other, 5)]).await;
    let second = env.provider(None, &[(&wanted, 10)]).await;
    env.set_traits(&first, &[&with]).await;
    env.set_aggregates(&first, &[&aggregate]).await;

    let resources = format!("{wanted}:1");
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Want {
        Both,
        Either,
        First,
        Second,
    }
    for minor in 10..=env.max {
        // The newest filter each version has, and which provider it leaves.
        let (query, want) = match minor {
            10..=15 => (
                ListAllocationCandidatesQuery::V1_10(body(json!({"resources": resources}))),
                Want::Both,
            ),
            16 => (
                ListAllocationCandidatesQuery::V1_16(body(
                    json!({"resources": resources, "limit": 1}),
                )),
                Want::Either,
            ),
            17..=20 => (
                ListAllocationCandidatesQuery::V1_17(body(
                    json!({"resources": resources, "required": with}),
                )),
                Want::First,
            ),
            21 => (
                ListAllocationCandidatesQuery::V1_21(body(
                    json!({"resources": resources, "member_of": aggregate}),
                )),
                Want::First,
            ),
            22..=23 => (
                ListAllocationCandidatesQuery::V1_21(body(
                    json!({"resources": resources, "required": format!("!{with}")}),
                )),
                Want::Second,
            ),
            24 => (
                ListAllocationCandidatesQuery::V1_24(body(json!({
                    "resources": resources,
                    "member_of": [aggregate, format!("in:{aggregate},{}", consumer_uuid())]}))),
                Want::First,
            ),
            25..=31 => (
                map_query(
                    minor,
                    json!({"resources": resources, "required": with,
                                 "member_of": [aggregate], "limit": 5}),
                ),
                Want::First,
            ),
            32..=34 => (
                map_query(
                    minor,
                    json!({"resources": resources, "member_of": [format!("!{aggregate}")]}),
                ),
                Want::Second,
            ),
            35 => (
                map_query(
                    minor,
                    json!({"resources": resources, "root_required": with}),
                ),
                Want::First,
            ),
            36..=38 => (
                map_query(
                    minor,
                    json!({"resources": resources, "required": format!("!{with}")}),
                ),
                Want::Second,
            ),
            _ => (
                map_query(
                    minor,
                    json!({"resources": resources,
                                 "required": [format!("in:{with},{also}"), format!("!{also}")]}),
                ),
                Want::First,
            ),
        };
        let found = list_candidates(&env, minor, &query)
            .await
            .unwrap_or_else(|e| panic!("1.{minor}: {e}"));
        let providers: BTreeSet<&str> = found
            .requests
            .iter()
            .flat_map(|(amounts, _)| amounts.keys().map(String::as_str))
            .collect();
        let expected: BTreeSet<&str> = match want {
            Want::Both => BTreeSet::from([first.as_str(), second.as_str()]),
            Want::First => BTreeSet::from([first.as_str()]),
            Want::Second => BTreeSet::from([second.as_str()]),
            Want::Either => providers.clone(),
        };
        assert_eq!(providers, expected, "1.{minor}");
        let count = if want == Want::Both { 2 } else { 1 };
        assert_eq!(found.requests.len(), count, "1.{minor}: {found:?}");
        for (amounts, mappings) in &found.requests {
            let (provider, taken) = amounts.iter().next().expect("one provider");
            assert_eq!(taken, &BTreeMap::from([(wanted.clone(), 1)]), "1.{minor}");
            let expected =
                (minor >= 34).then(|| BTreeMap::from([(String::new(), vec![provider.clone()])]));
            assert_eq!(mappings, &expected, "1.{minor}");
            // Every provider in a request is summarised.
            let s = &found.summaries[provider];
            assert_eq!(s.resources[&wanted], (10, 0), "1.{minor}");
            let has = |p: &str| {
                if p == first {
                    vec![with.clone()]
                } else {
                    vec![]
                }
            };
            assert_eq!(s.traits, (minor >= 17).then(|| has(provider)), "1.{minor}");
            assert_eq!(
                s.tree,
                (minor >= 29).then(|| (None, provider.clone())),
                "1.{minor}"
            );
            // From 1.27 a summary lists every class, not just the requested one.
            let classes: BTreeSet<&String> = s.resources.keys().collect();
            let all = if minor >= 27 && provider == &first {
                BTreeSet::from([&wanted, &other])
            } else {
                BTreeSet::from([&wanted])
            };
            assert_eq!(classes, all, "1.{minor}");
        }
    }
    env.finish().await;
}

/// What a query at a version should give: the server's 400, or these allocation requests
/// (each provider -> class -> amount) and, from 1.34, these mappings (suffix -> provider).
enum Expect {
    BadRequest,
    Requests(Vec<Amounts>),
    Mapped(Amounts, Mappings),
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn allocation_candidates_in_trees_and_groups_change_where_the_versions_say() {
    let mut env = Env::new().await;
    let (on_root, on_child) = (
        env.resource_class("ROOT").await,
        env.resource_class("CHILD").await,
    );
    let (root_trait, child_trait) = (env.trait_named("RT").await, env.trait_named("CT").await);
    let root = env.provider(None, &[(&on_root, 10)]).await;
    let child = env.provider(Some(&root), &[(&on_child, 10)]).await;
    env.set_traits(&root, &[&root_trait]).await;
    env.set_traits(&child, &[&child_trait]).await;

    let both = |root_amount: i64, child_amount: i64| {
        let mut amounts = Amounts::new();
        if root_amount > 0 {
            amounts.insert(
                root.clone(),
                BTreeMap::from([(on_root.clone(), root_amount)]),
            );
        }
        amounts.insert(
            child.clone(),
            BTreeMap::from([(on_child.clone(), child_amount)]),
        );
        amounts
    };
    let unsuffixed = json!({"resources": format!("{on_root}:1,{on_child}:1")});
    let numbered = json!({"resources1": format!("{on_root}:1"),
                          "resources2": format!("{on_child}:1"), "group_policy": "isolate"});
    let named = json!({"resources": format!("{on_root}:1"),
                       "resources_NET": format!("{on_child}:1")});
    let in_tree = json!({"resources": format!("{on_child}:1"), "in_tree": root});
    let root_required = json!({"resources": format!("{on_child}:1"), "root_required": root_trait});
    let subtree = json!({"resources_X": format!("{on_child}:1"), "required_Y": child_trait,
                         "same_subtree": ["_X,_Y"], "group_policy": "none"});
    let any_of = json!({"resources": format!("{on_child}:1"),
                        "required": [format!("in:{child_trait},{root_trait}")]});
    let cases: Vec<(u32, ListAllocationCandidatesQuery, Expect)> = vec![
        // Forbidden traits arrive at 1.22.
        (
            21,
            ListAllocationCandidatesQuery::V1_21(body(json!({
                "resources": format!("{on_root}:1"), "required": format!("!{child_trait}")}))),
            Expect::BadRequest,
        ),
        // Before 1.29 Placement does not combine the providers of a tree.
        (
            25,
            map_query(25, numbered.clone()),
            Expect::Requests(vec![]),
        ),
        (
            28,
            map_query(28, unsuffixed.clone()),
            Expect::Requests(vec![]),
        ),
        (
            29,
            map_query(29, unsuffixed),
            Expect::Requests(vec![both(1, 1)]),
        ),
        (
            29,
            map_query(29, numbered),
            Expect::Requests(vec![both(1, 1)]),
        ),
        (30, map_query(30, in_tree.clone()), Expect::BadRequest),
        (
            31,
            map_query(31, in_tree),
            Expect::Requests(vec![both(0, 1)]),
        ),
        (32, map_query(32, named.clone()), Expect::BadRequest),
        (
            33,
            map_query(33, named.clone()),
            Expect::Requests(vec![both(1, 1)]),
        ),
        (
            34,
            map_query(34, named),
            Expect::Mapped(
                both(1, 1),
                BTreeMap::from([
                    (String::new(), vec![root.clone()]),
                    ("_NET".to_owned(), vec![child.clone()]),
                ]),
            ),
        ),
        (34, map_query(34, root_required.clone()), Expect::BadRequest),
        (
            35,
            map_query(35, root_required),
            Expect::Requests(vec![both(0, 1)]),
        ),
        (35, map_query(35, subtree.clone()), Expect::BadRequest),
        (
            36,
            map_query(36, subtree),
            Expect::Requests(vec![both(0, 1)]),
        ),
        (38, map_query(38, any_of.clone()), Expect::BadRequest),
        (
            39,
            map_query(39, any_of),
            Expect::Requests(vec![both(0, 1)]),
        ),
    ];
    for (minor, query, expect) in cases {
        if minor > env.max {
            continue;
        }
        let answer = list_candidates(&env, minor, &query).await;
        match (expect, answer) {
            (Expect::BadRequest, Err(e)) => {
                assert_eq!(
                    e.http_kind(),
                    Some(HttpErrorKind::BadRequest),
                    "1.{minor}: {e}"
                )
            }
            (Expect::Requests(want), Ok(found)) => {
                let got: Vec<Amounts> = found.requests.iter().map(|(a, _)| a.clone()).collect();
                assert_eq!(got, want, "1.{minor}: {query:?}");
                if minor >= 29 && !got.is_empty() {
                    // The summaries cover the whole tree, with its shape.
                    assert_eq!(
                        found.summaries[&child].tree,
                        Some((Some(root.clone()), root.clone())),
                        "1.{minor}"
                    );
                    assert_eq!(found.summaries[&root].tree, Some((None, root.clone())));
                }
            }
            (Expect::Mapped(want, mappings), Ok(found)) => {
                assert_eq!(found.requests, vec![(want, Some(mappings))], "1.{minor}");
            }
            (_, other) => panic!("1.{minor}: {query:?} gave {other:?}"),
        }
    }
    env.finish().await;
}

#[tokio::test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
async fn reshape_moves_inventory_and_allocations_to_a_child_from_1_30() {
    let mut env = Env::new().await;
    let class = env.resource_class("RESHAPE").await;
    // Before 1.30 there is no reshaper: the typed client does not send it.
    let empty: types::ReshapeRequestV1_30 = body(json!({"inventories": {}, "allocations": {}}));
    let refused = AllocationsClient::new(env.at(29))
        .reshape(&ReshapeRequest::V1_30(empty))
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Request { .. }), "{refused}");

    let mut versions = vec![30, 34, 38, env.max];
    versions.retain(|m| *m <= env.max);
    versions.dedup();
    for minor in versions {
        // Three of the root's ten in use; then the inventory moves to a new child.
        let root = env.provider(None, &[(&class, 10)]).await;
        let child = env.provider(Some(&root), &[]).await;
        let consumer = env.consumer();
        let client = AllocationsClient::new(env.at(minor));
        AllocationsClient::new(env.at(28))
            .update_allocations(&consumer, &update_body(28, &root, &class, 3, None))
            .await
            .expect("allocate on the root");
        let mut moved = json!({"allocations": {&child: {"resources": {&class: 3}}},
                               "project_id": PROJECT, "user_id": USER, "consumer_generation": 1});
        if minor >= 34 {
            moved["mappings"] = json!({"": [&child]});
        }
        if minor >= 38 {
            moved["consumer_type"] = json!("INSTANCE");
        }
        let request = json!({
            "inventories": {
                &root: {"resource_provider_generation": env.generation(&root).await,
                        "inventories": {}},
                &child: {"resource_provider_generation": env.generation(&child).await,
                         "inventories": {&class: {"total": 10}}}},
            "allocations": {&consumer: moved}});
        let request = match minor {
            30..=33 => ReshapeRequest::V1_30(body(request)),
            34..=37 => ReshapeRequest::V1_34(body(request)),
            _ => ReshapeRequest::V1_38(body(request)),
        };
        let reshaped = client
            .reshape(&request)
            .await
            .unwrap_or_else(|e| panic!("reshape at 1.{minor}: {e}"));
        assert_eq!(reshaped.status, 204);
        // The same request again carries stale provider generations.
        let err = client.reshape(&request).await.unwrap_err();
        assert_eq!(
            err.http_kind(),
            Some(HttpErrorKind::Conflict),
            "1.{minor}: {err}"
        );

        let read = client.list_allocations(&consumer).await.expect("GET");
        let seen = consumer_view(minor, &read.body);
        let on: Vec<(&String, i64)> = seen
            .allocations
            .iter()
            .map(|(rp, (_, amounts))| (rp, amounts[&class]))
            .collect();
        assert_eq!(on, vec![(&child, 3)], "1.{minor}");
        assert_eq!(seen.consumer_generation, Some(2), "1.{minor}");
        let inventories = InventoriesClient::new(env.at(minor));
        let left = inventories
            .list_inventories(&root)
            .await
            .expect("root inventory");
        assert!(
            left.body.inventories.is_empty(),
            "1.{minor}: {:?}",
            left.body
        );
        let now = inventories
            .list_inventories(&child)
            .await
            .expect("child inventory");
        assert_eq!(now.body.inventories[&class].total, 10, "1.{minor}");
    }
    env.finish().await;
}

/// `{uuid}`, `{name}` and the like all become `{}`.
fn route_shape(path: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}

#[test]
#[ignore = "live: needs Placement (scripts/services.py up)"]
fn placement_has_37_operations_covering_every_route_it_declares() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    // The operations as the generator resolves the specs ...
    let services = squall_gen::Generator::new(repo.join("specs"))
        .services()
        .expect("specs resolve");
    let service = services
        .iter()
        .find(|s| s.def.service == "placement")
        .expect("placement");
    let operations: Vec<&squall_gen::resolve::ResolvedOperation> = service
        .groups
        .values()
        .flat_map(|g| g.operations.values())
        .collect();
    assert_eq!(
        operations.len(),
        37,
        "{:?}",
        operations.iter().map(|o| &o.name).collect::<Vec<_>>()
    );
    // ... one operation table each in the generated code ...
    let mut tables = 0;
    for entry in std::fs::read_dir(repo.join("generated/src/placement")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            tables += std::fs::read_to_string(&path)
                .unwrap()
                .matches("rt::OperationMeta::new(")
                .count();
        }
    }
    assert_eq!(tables, 37);
    // ... and, between them, every route of Placement's own route table and no other.
    let specified: BTreeSet<(String, String)> = operations
        .iter()
        .flat_map(|o| o.spans.iter())
        .map(|s| {
            (
                s.facets.method.as_str().to_owned(),
                route_shape(&s.facets.path),
            )
        })
        .collect();
    let python = common::cloud_json_path()
        .parent()
        .expect("services directory")
        .join("venv/bin/python");
    let out = std::process::Command::new(&python)
        .args([
            "-c",
            "import json\nfrom placement import handler\nprint(json.dumps([[m, p] for p, ms in \
             handler.ROUTE_DECLARATIONS.items() if p for m in ms]))",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (start the services first)", python.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let routes: Vec<(String, String)> = serde_json::from_slice(&out.stdout).expect("routes");
    let declared: BTreeSet<(String, String)> = routes
        .iter()
        .map(|(m, p)| (m.clone(), route_shape(p)))
        .collect();
    assert_eq!(declared.len(), 36, "{declared:?}");
    assert_eq!(specified, declared);
}
