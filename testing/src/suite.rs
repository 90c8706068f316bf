//! The test harness: registered tests, runtime decisions, and clients at the selected version.
//!
//! A [`Suite`] is the `main` of a test target with `harness = false`. Each test declares what it
//! [`Requires`] per service; when the test runs, the suite negotiates each service's configured
//! range with the server and the specs, applies Tempest's rules, and either skips the test with a
//! reason or runs it with a [`TestContext`] whose clients carry the selected versions. Nothing is
//! global: two tests at different versions run side by side.
//!
//! Name filtering, `--exact`, `--list`, `--test-threads` and the other libtest flags work as
//! usual, through libtest-mimic.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, PoisonError};

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use squall_runtime::{
    ApiVersion, Catalog, Discovery, DiscoveryError, GeneratedClient, NegotiationError, RestClient,
    ServiceClient, ServiceClients, ServiceMeta, VersionError, VersionRange, negotiate,
};

use crate::cleanup::{Cleanups, combine as combine_cleanups};
use crate::config::{ConfigError, MicroversionConfig};
use crate::credentials::{CredentialProvider, TestCredentials};
use crate::select::{Decision, Selection, TestRange, combine, decide};

/// What a test returns: any error fails it, with its message.
pub type TestResult = Result<(), TestError>;
/// A test failure.
pub type TestError = Box<dyn std::error::Error + Send + Sync>;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type Body = Arc<dyn Fn(TestContext) -> BoxFuture<TestResult> + Send + Sync>;
type Connector = Arc<dyn Fn() -> BoxFuture<Result<Connection, TestError>> + Send + Sync>;

/// Something the framework itself could not do for a test.
#[derive(Debug, thiserror::Error)]
pub enum FrameworkError {
    /// A test declared a malformed or inverted range.
    #[error("test range for {service} is invalid: {source}")]
    InvalidRange {
        /// The service.
        service: String,
        /// Why.
        source: VersionError,
    },
    /// The suite has no way to reach a cloud, but a test needs one.
    #[error("the suite has no connection; call Suite::connect with a function that builds one")]
    NoConnector,
    /// Building the connection failed.
    #[error("connecting to the cloud failed: {0}")]
    Connect(String),
    /// No endpoint for a service.
    #[error("no endpoint for {service}: {reason}")]
    Endpoint {
        /// The service.
        service: String,
        /// Why.
        reason: String,
    },
    /// Version discovery failed.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The configured range cannot be met.
    #[error(transparent)]
    Negotiation(#[from] NegotiationError),
    /// The test's own credentials could not be made or reached.
    #[error("test credentials: {0}")]
    Credentials(String),
}

/// The ranges a test (or a group of tests) declares, per service.
///
/// A service the test does not declare gets Tempest's default range, none–latest.
#[derive(Debug, Clone, Default)]
pub struct Requires {
    ranges: Vec<(&'static ServiceMeta, Result<TestRange, VersionError>)>,
}

impl Requires {
    /// Nothing required.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `service` between `min` and `max` (`""` or `"none"` for no minimum, `"latest"`
    /// for no maximum). A malformed or inverted range fails the test when it runs.
    pub fn service(mut self, service: &'static ServiceMeta, min: &str, max: &str) -> Self {
        self.set(service, TestRange::parse(min, max));
        self
    }

    /// Sets one service's range, replacing an earlier one.
    fn set(&mut self, service: &'static ServiceMeta, range: Result<TestRange, VersionError>) {
        self.ranges.retain(|(s, _)| s.name != service.name);
        self.ranges.push((service, range));
    }

    /// This requirement with `more` layered on top (a test's own ranges over its group's).
    fn overlaid(&self, more: &Requires) -> Requires {
        let mut merged = self.clone();
        for (service, range) in &more.ranges {
            merged.set(service, range.clone());
        }
        merged
    }
}

/// How tests reach the cloud.
///
/// Usually built from [`ServiceClients`] (credentials, token renewal, region, interface, TLS and
/// per-service settings all come from there); or, for a bare setup, from an authenticated
/// [`RestClient`] plus a Keystone catalog or explicit endpoints.
#[derive(Debug, Clone)]
pub struct Connection {
    source: Source,
    endpoints: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
enum Source {
    Clients(ServiceClients),
    Rest {
        rest: Arc<RestClient>,
        catalog: Option<(Catalog, String, Option<String>)>,
    },
}

impl Connection {
    /// Tests get their clients from `clients` (one auth provider for the whole run).
    pub fn from_clients(clients: ServiceClients) -> Self {
        Self {
            source: Source::Clients(clients),
            endpoints: BTreeMap::new(),
        }
    }

    /// A connection over an authenticated HTTP client, with no endpoints yet.
    pub fn new(rest: Arc<RestClient>) -> Self {
        Self {
            source: Source::Rest {
                rest,
                catalog: None,
            },
            endpoints: BTreeMap::new(),
        }
    }

    /// Looks endpoints up in a Keystone catalog, by interface and optional region (for a
    /// connection made with [`Connection::new`]).
    pub fn with_catalog(mut self, catalog: Catalog, interface: &str, region: Option<&str>) -> Self {
        if let Source::Rest { catalog: slot, .. } = &mut self.source {
            *slot = Some((catalog, interface.to_owned(), region.map(str::to_owned)));
        }
        self
    }

    /// Uses `url` for the service of catalog type `catalog_type`, ahead of any lookup.
    pub fn with_endpoint(mut self, catalog_type: &str, url: &str) -> Self {
        self.endpoints
            .insert(catalog_type.to_owned(), url.to_owned());
        self
    }

    /// The HTTP client.
    pub fn rest(&self) -> &Arc<RestClient> {
        match &self.source {
            Source::Clients(clients) => clients.rest_client(),
            Source::Rest { rest, .. } => rest,
        }
    }

    /// The endpoint of `service`.
    pub async fn endpoint(&self, service: &'static ServiceMeta) -> Result<String, FrameworkError> {
        if let Some(url) = self.endpoints.get(service.catalog_type) {
            return Ok(url.clone());
        }
        let failed = |reason: String| FrameworkError::Endpoint {
            service: service.name.to_owned(),
            reason,
        };
        match &self.source {
            Source::Clients(clients) => clients
                .factory(service)
                .base_url()
                .await
                .map_err(|e| failed(e.to_string())),
            Source::Rest { catalog: None, .. } => {
                Err(failed("no catalog and no explicit endpoint".to_owned()))
            }
            Source::Rest {
                catalog: Some((catalog, interface, region)),
                ..
            } => catalog
                .endpoint(service.catalog_type, interface, region.as_deref())
                .map(str::to_owned)
                .map_err(|e| failed(e.to_string())),
        }
    }
}

/// What happened to one test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It ran and passed.
    Passed,
    /// It was skipped, for this reason.
    Skipped(String),
    /// It ran (or could not be set up) and failed, with this message.
    Failed(String),
}

/// One test's record: its outcome and the version selected per declared service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRecord {
    /// The full test name (`group::test`).
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
    /// The versions the test's clients sent, per service it declared (empty when skipped).
    pub versions: BTreeMap<String, ApiVersion>,
}

/// The result of [`Suite::run_with`].
#[derive(Debug)]
pub struct SuiteReport {
    /// libtest-mimic's counts (passed, failed, ignored, filtered out).
    pub conclusion: libtest_mimic::Conclusion,
    /// Every test that was not filtered out, sorted by name.
    pub records: Vec<TestRecord>,
}

impl SuiteReport {
    /// The record of the test named `name`.
    pub fn get(&self, name: &str) -> Option<&TestRecord> {
        self.records.iter().find(|r| r.name == name)
    }
}

struct Case {
    name: String,
    requires: Requires,
    body: Body,
    /// Set for the tests of a group that shares one set of credentials.
    shared_credentials: Option<Arc<GroupCredentials>>,
}

/// One set of credentials for all tests of a group: acquired by the first test that runs,
/// given back when the last test holding it is dropped (the suite has run).
#[derive(Default)]
struct GroupCredentials {
    held: tokio::sync::OnceCell<Result<Arc<TestCredentials>, String>>,
}

/// Shared by every test of one run.
struct Shared {
    config: MicroversionConfig,
    negotiate: bool,
    discovery: Discovery,
    connector: Option<Connector>,
    connection: tokio::sync::OnceCell<Result<Connection, String>>,
    records: Mutex<Vec<TestRecord>>,
    credentials: Option<Result<CredentialProvider, String>>,
}

impl Shared {
    async fn connection(&self) -> Result<Connection, FrameworkError> {
        let connector = self.connector.as_ref().ok_or(FrameworkError::NoConnector)?;
        self.connection
            .get_or_init(|| async { connector().await.map_err(|e| e.to_string()) })
            .await
            .clone()
            .map_err(FrameworkError::Connect)
    }

    /// The configured range of `service`, negotiated with the server and the specs when
    /// negotiation is on; with a label for skip reasons.
    async fn effective_range(
        &self,
        service: &'static ServiceMeta,
    ) -> Result<(ApiVersion, ApiVersion, String), FrameworkError> {
        let configured = self.config.range(service.name);
        let label = format!("configured {configured} ({})", configured.origin);
        if !self.negotiate {
            return Ok((configured.min, configured.max, label));
        }
        let connection = self.connection().await?;
        let endpoint = connection.endpoint(service).await?;
        let server = self
            .discovery
            .server_versions(connection.rest().http(), service, &endpoint)
            .await?;
        let range = VersionRange::new(configured.min, configured.max).map_err(|source| {
            FrameworkError::InvalidRange {
                service: service.name.to_owned(),
                source,
            }
        })?;
        let effective = negotiate(service, range, &server)?;
        let label = if effective == range {
            label
        } else {
            format!(
                "{label}, negotiated {effective} with server {server} and specs {}–{}",
                service.min_version, service.max_version
            )
        };
        Ok((effective.min(), effective.max(), label))
    }
}

/// What a running test gets: its selected versions and clients built at them.
#[derive(Clone)]
pub struct TestContext {
    name: String,
    versions: BTreeMap<String, ApiVersion>,
    shared: Arc<Shared>,
    cleanups: Cleanups,
    credentials: Option<Arc<TestCredentials>>,
}

impl fmt::Debug for TestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestContext")
            .field("name", &self.name)
            .field("versions", &self.versions)
            .finish_non_exhaustive()
    }
}

impl TestContext {
    /// The test's full name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version selected for `service`, for a service the test declared.
    pub fn version(&self, service: &ServiceMeta) -> Option<ApiVersion> {
        self.versions.get(service.name).copied()
    }

    /// The version the test's clients of `service` send: the selected one for a declared
    /// service, otherwise Tempest's choice for an undeclared one (the configured minimum).
    pub async fn request_version(
        &self,
        service: &'static ServiceMeta,
    ) -> Result<ApiVersion, FrameworkError> {
        if let Some(version) = self.version(service) {
            return Ok(version);
        }
        let (min, max, label) = self.shared.effective_range(service).await?;
        match decide(service.name, TestRange::default(), min, max, &label) {
            Decision::Run(version) => Ok(version),
            // The default range (none–latest) meets every ordered configuration.
            Decision::Skip(_) => Ok(min),
        }
    }

    /// The test's cleanup stack: what is added runs in reverse order after the test, also
    /// when it fails or panics.
    pub fn cleanups(&self) -> &Cleanups {
        &self.cleanups
    }

    /// Registers a cleanup (see [`Cleanups::add`]).
    pub fn add_cleanup<F, E>(&self, name: impl Into<String>, cleanup: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TestError>,
    {
        self.cleanups.add(name, cleanup);
    }

    /// The test's own credentials, when the suite hands them out ([`Suite::credentials`]).
    pub fn credentials(&self) -> Option<&TestCredentials> {
        self.credentials.as_deref()
    }

    /// The [`ServiceClients`] the test's clients come from: its own credentials' when the
    /// suite hands them out, otherwise the connection's.
    pub async fn clients(&self) -> Result<ServiceClients, FrameworkError> {
        if let Some(credentials) = &self.credentials {
            return Ok(credentials.clients().clone());
        }
        match self.shared.connection().await?.source {
            Source::Clients(clients) => Ok(clients),
            Source::Rest { .. } => Err(FrameworkError::Connect(
                "the connection was made without ServiceClients".to_owned(),
            )),
        }
    }

    /// A service client for `service` at this test's version.
    pub async fn service(
        &self,
        service: &'static ServiceMeta,
    ) -> Result<ServiceClient, FrameworkError> {
        let version = self.request_version(service).await?;
        if let Some(credentials) = &self.credentials {
            return credentials
                .clients()
                .factory(service)
                .with_microversion(version)
                .service_client()
                .await
                .map_err(|e| FrameworkError::Credentials(e.to_string()));
        }
        let connection = self.shared.connection().await?;
        let endpoint = connection.endpoint(service).await?;
        Ok(
            ServiceClient::new(Arc::clone(connection.rest()), &endpoint, service)
                .with_microversion(version),
        )
    }

    /// A generated client at this test's version, e.g. `ctx.client::<KeypairsClient>()`.
    pub async fn client<C: GeneratedClient>(&self) -> Result<C, FrameworkError> {
        use squall_runtime::Service as _;
        self.service(C::Service::META)
            .await
            .map(C::from_service_client)
    }
}

/// A set of tests run by one test binary.
pub struct Suite {
    config: Result<MicroversionConfig, ConfigError>,
    negotiate: bool,
    connector: Option<Connector>,
    cases: Vec<Case>,
    credentials: Option<Result<CredentialProvider, String>>,
    live: Option<String>,
}

impl fmt::Debug for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Suite")
            .field("config", &self.config)
            .field("negotiate", &self.negotiate)
            .field("tests", &self.cases.len())
            .finish_non_exhaustive()
    }
}

impl Suite {
    /// A suite with the configuration the environment names (see [`MicroversionConfig::from_env`]).
    /// A bad configuration fails every test with the key and the reason.
    pub fn from_env() -> Self {
        Self::with_config(MicroversionConfig::from_env())
    }

    /// A suite with an explicit configuration.
    pub fn new(config: MicroversionConfig) -> Self {
        Self::with_config(Ok(config))
    }

    fn with_config(config: Result<MicroversionConfig, ConfigError>) -> Self {
        Self {
            config,
            negotiate: true,
            connector: None,
            cases: Vec::new(),
            credentials: None,
            live: None,
        }
    }

    /// Marks every test as live (it needs a real service), the way `#[ignore = "live: ..."]`
    /// marks a plain test: a plain `cargo test` lists them as ignored, and
    /// `--include-ignored` (`cargo nextest run --run-ignored all`, as `scripts/test` runs)
    /// runs them. `reason` names the services, e.g. `live: needs Nova (scripts/services.py up)`.
    pub fn live(mut self, reason: &str) -> Self {
        self.live = Some(reason.to_owned());
        self
    }

    /// Hands every test credentials of its own from `provider` (a new Keystone project and
    /// user, or a pre-provisioned account), given back after the test and its cleanups, also
    /// when it fails or panics. A group made with [`Group::share_credentials`] shares one.
    pub fn credentials(mut self, provider: CredentialProvider) -> Self {
        self.credentials = Some(Ok(provider));
        self
    }

    /// Hands out credentials as the configuration says ([`CredentialsConfig::from_env`]:
    /// tempest.conf's `[auth]` and `[identity]`, the TOML file's `[auth]` table): dynamic
    /// credentials made with the `admin_*` account, or pre-provisioned accounts from
    /// `test_accounts_file`. A configuration that cannot be used fails every test, naming it.
    ///
    /// [`CredentialsConfig::from_env`]: crate::credentials::CredentialsConfig::from_env
    pub fn credentials_from_config(mut self) -> Self {
        let provider = crate::credentials::CredentialsConfig::from_env()
            .and_then(|config| CredentialProvider::from_config(&config))
            .map_err(|e| e.to_string());
        self.credentials = Some(provider);
        self
    }

    /// Turns negotiation with the server off: Tempest's rules then apply to the configured ranges
    /// as they are, and `latest` is sent literally.
    pub fn without_negotiation(mut self) -> Self {
        self.negotiate = false;
        self
    }

    /// How to reach the cloud; called once, on first use, and shared by all tests.
    pub fn connect<F, Fut>(mut self, connector: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Connection, TestError>> + Send + 'static,
    {
        self.connector = Some(Arc::new(move || Box::pin(connector())));
        self
    }

    /// Registers a test.
    pub fn test<F, Fut>(&mut self, name: &str, requires: Requires, body: F) -> &mut Self
    where
        F: Fn(TestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TestResult> + Send + 'static,
    {
        self.cases.push(Case {
            name: name.to_owned(),
            requires,
            body: Arc::new(move |ctx| Box::pin(body(ctx))),
            shared_credentials: None,
        });
        self
    }

    /// Registers a group of tests sharing a requirement, like a Tempest test class. Test names
    /// become `group::test`; a test's own requirement is layered over the group's.
    pub fn group(
        &mut self,
        name: &str,
        requires: Requires,
        build: impl FnOnce(&mut Group),
    ) -> &mut Self {
        let mut group = Group {
            prefix: name.to_owned(),
            requires,
            cases: Vec::new(),
            shared: None,
        };
        build(&mut group);
        if let Some(shared) = &group.shared {
            for case in &mut group.cases {
                case.shared_credentials = Some(Arc::clone(shared));
            }
        }
        self.cases.extend(group.cases);
        self
    }

    /// Runs with the process's command-line arguments and exits as libtest would.
    pub fn run(self) -> ExitCode {
        let report = self.run_with(&Arguments::from_args());
        report.conclusion.exit_code()
    }

    /// Runs with the given arguments and returns every test's record.
    pub fn run_with(self, args: &Arguments) -> SuiteReport {
        let live = self.live.is_some();
        let (cases, prepared) = self.prepare();
        let trials = cases
            .into_iter()
            .map(|case| {
                let prepared = prepared.clone();
                Trial::ignorable_test(case.name.clone(), move || prepared.run_case(case))
                    .with_ignored_flag(live)
            })
            .collect();
        let conclusion = libtest_mimic::run(args, trials);
        SuiteReport {
            conclusion,
            records: prepared.take_records(),
        }
    }

    /// Runs every test on `threads` threads and prints nothing: for a suite run inside
    /// another test, which asserts on the records (a suite meant to fail then leaves no
    /// `test result: FAILED` line in the log). Skip reasons and failures are in the records.
    pub fn run_captured(self, threads: usize) -> SuiteReport {
        let (cases, prepared) = self.prepare();
        let queue = Mutex::new(std::collections::VecDeque::from(cases));
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    loop {
                        let next = queue
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .pop_front();
                        let Some(case) = next else { break };
                        // The outcome is in the records.
                        let _ = prepared.run_case(case);
                    }
                });
            }
        });
        let records = prepared.take_records();
        let count =
            |f: fn(&Outcome) -> bool| records.iter().filter(|r| f(&r.outcome)).count() as u64;
        SuiteReport {
            conclusion: libtest_mimic::Conclusion {
                num_filtered_out: 0,
                num_passed: count(|o| matches!(o, Outcome::Passed)),
                num_failed: count(|o| matches!(o, Outcome::Failed(_))),
                num_ignored: count(|o| matches!(o, Outcome::Skipped(_))),
                num_measured: 0,
            },
            records,
        }
    }

    fn prepare(self) -> (Vec<Case>, Prepared) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build();
        let (config, config_error) = match self.config {
            Ok(config) => (config, None),
            Err(e) => (MicroversionConfig::new(), Some(e.to_string())),
        };
        let shared = Arc::new(Shared {
            config,
            negotiate: self.negotiate,
            discovery: Discovery::new(),
            connector: self.connector,
            connection: tokio::sync::OnceCell::new(),
            records: Mutex::new(Vec::new()),
            credentials: self.credentials,
        });
        let prepared = Prepared {
            shared,
            handle: runtime
                .as_ref()
                .map(|r| r.handle().clone())
                .map_err(|e| e.to_string()),
            config_error,
            _runtime: runtime.ok().map(Arc::new),
        };
        (self.cases, prepared)
    }
}

/// What every test of one run shares, ready to run cases.
#[derive(Clone)]
struct Prepared {
    shared: Arc<Shared>,
    handle: Result<tokio::runtime::Handle, String>,
    config_error: Option<String>,
    _runtime: Option<Arc<tokio::runtime::Runtime>>,
}

impl Prepared {
    /// Runs one case and records it; the result is libtest's.
    fn run_case(&self, case: Case) -> Result<Completion, Failed> {
        let name = case.name.clone();
        let (outcome, versions) = match (&self.handle, &self.config_error) {
            (_, Some(error)) => (
                Outcome::Failed(format!("bad configuration: {error}")),
                BTreeMap::new(),
            ),
            (Err(error), None) => (
                Outcome::Failed(format!("no async runtime: {error}")),
                BTreeMap::new(),
            ),
            (Ok(handle), None) => execute(handle, &self.shared, case),
        };
        let result = match &outcome {
            Outcome::Passed => Ok(Completion::Completed),
            Outcome::Skipped(reason) => {
                // libtest prints the reason after "ignored". cargo nextest runs each test
                // alone and shows only its output, so say it there too.
                if std::env::var_os("NEXTEST").is_some() {
                    eprintln!("SKIP {name}: {reason}");
                }
                Ok(Completion::ignored_with(reason))
            }
            Outcome::Failed(message) => Err(Failed::from(message.as_str())),
        };
        self.shared
            .records
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(TestRecord {
                name,
                outcome,
                versions,
            });
        result
    }

    fn take_records(&self) -> Vec<TestRecord> {
        let mut records = std::mem::take(
            &mut *self
                .shared
                .records
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        records.sort_by(|a, b| a.name.cmp(&b.name));
        records
    }
}

/// Tests sharing one requirement; see [`Suite::group`].
pub struct Group {
    prefix: String,
    requires: Requires,
    cases: Vec<Case>,
    shared: Option<Arc<GroupCredentials>>,
}

impl fmt::Debug for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Group")
            .field("prefix", &self.prefix)
            .field("tests", &self.cases.len())
            .finish_non_exhaustive()
    }
}

impl Group {
    /// The group's tests share one set of credentials (like a Tempest test class), acquired
    /// when the first of them runs and given back once the suite has run them all. Without a
    /// provider ([`Suite::credentials`]) this does nothing.
    pub fn share_credentials(&mut self) -> &mut Self {
        self.shared = Some(Arc::new(GroupCredentials::default()));
        self
    }

    /// Registers a test with the group's requirement.
    pub fn test<F, Fut>(&mut self, name: &str, body: F) -> &mut Self
    where
        F: Fn(TestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TestResult> + Send + 'static,
    {
        self.test_with(name, Requires::new(), body)
    }

    /// Registers a test whose own requirement is layered over the group's.
    pub fn test_with<F, Fut>(&mut self, name: &str, requires: Requires, body: F) -> &mut Self
    where
        F: Fn(TestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = TestResult> + Send + 'static,
    {
        self.cases.push(Case {
            name: format!("{}::{name}", self.prefix),
            requires: self.requires.overlaid(&requires),
            body: Arc::new(move |ctx| Box::pin(body(ctx))),
            shared_credentials: None,
        });
        self
    }
}

/// Decides, then runs one test; never panics (a panicking body is a failure).
fn execute(
    handle: &tokio::runtime::Handle,
    shared: &Arc<Shared>,
    case: Case,
) -> (Outcome, BTreeMap<String, ApiVersion>) {
    let selection = match handle.block_on(select(shared, &case.requires)) {
        Ok(selection) => selection,
        Err(error) => return (Outcome::Failed(error.to_string()), BTreeMap::new()),
    };
    let versions = match selection {
        Selection::Skip(reason) => return (Outcome::Skipped(reason), BTreeMap::new()),
        Selection::Run(versions) => versions,
    };
    tracing::info!(test = %case.name, ?versions, "running");
    // The test's own credentials: the group's shared ones, or a fresh set for this test.
    let (credentials, own) = match handle.block_on(credentials_for(shared, &case)) {
        Ok(held) => held,
        Err(error) => return (Outcome::Failed(error.to_string()), versions),
    };
    let ctx = TestContext {
        name: case.name.clone(),
        versions: versions.clone(),
        shared: Arc::clone(shared),
        cleanups: Cleanups::new(),
        credentials,
    };
    let cleanups = ctx.cleanups.clone();
    let body = Arc::clone(&case.body);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| handle.block_on(body(ctx))));
    let result = match result {
        Ok(result) => result,
        Err(panic) => Err(panic_message(panic.as_ref()).into()),
    };
    // Cleanups in reverse order, whatever happened; then this test's own credentials.
    let failures = handle.block_on(cleanups.run());
    let mut result = combine_cleanups(result, &failures);
    if let Some(own) = own {
        let released = match Arc::try_unwrap(own) {
            Ok(own) => handle.block_on(own.release()).map_err(|e| e.to_string()),
            Err(_) => Err(
                "the test kept its credentials past its end; they are deleted when dropped"
                    .to_owned(),
            ),
        };
        if let Err(error) = released {
            let failure = crate::cleanup::CleanupFailure {
                name: "release test credentials".to_owned(),
                error,
            };
            result = combine_cleanups(result, &[failure]);
        }
    }
    let outcome = match result {
        Ok(()) => Outcome::Passed,
        Err(error) => Outcome::Failed(error.to_string()),
    };
    (outcome, versions)
}

/// The credentials a test runs with: `(for the context, the test's own to give back)`.
async fn credentials_for(
    shared: &Shared,
    case: &Case,
) -> Result<(Option<Arc<TestCredentials>>, Option<Arc<TestCredentials>>), FrameworkError> {
    let provider = match &shared.credentials {
        None => return Ok((None, None)),
        Some(Err(error)) => return Err(FrameworkError::Credentials(error.clone())),
        Some(Ok(provider)) => provider,
    };
    let failed = |e: String| FrameworkError::Credentials(e);
    if let Some(group) = &case.shared_credentials {
        let group_name = case
            .name
            .split("::")
            .next()
            .unwrap_or(&case.name)
            .to_owned();
        let held = group
            .held
            .get_or_init(|| async {
                provider
                    .acquire(&group_name)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .clone()
            .map_err(failed)?;
        return Ok((Some(held), None));
    }
    let own = Arc::new(
        provider
            .acquire(&case.name)
            .await
            .map_err(|e| failed(e.to_string()))?,
    );
    Ok((Some(Arc::clone(&own)), Some(own)))
}

async fn select(shared: &Shared, requires: &Requires) -> Result<Selection, FrameworkError> {
    let mut decisions = Vec::new();
    for (service, range) in &requires.ranges {
        let range = range
            .clone()
            .map_err(|source| FrameworkError::InvalidRange {
                service: service.name.to_owned(),
                source,
            })?;
        let (min, max, label) = shared.effective_range(service).await?;
        decisions.push((
            service.name.to_owned(),
            decide(service.name, range, min, max, &label),
        ));
    }
    Ok(combine(decisions))
}

pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_owned());
    format!("test panicked: {text}")
}
