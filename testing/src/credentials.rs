//! Credentials for tests, as Tempest's credential providers hand them out.
//!
//! - **Dynamic** ([`DynamicCredentials`]): for each test (or group) a new Keystone project and
//!   user with the configured roles, created with admin credentials; the test gets its own
//!   [`ServiceClients`]; the user and the project are deleted when the [`TestCredentials`] is
//!   released, and, as a backstop, when it is dropped, so a panicking test leaves nothing.
//! - **Pre-provisioned** ([`AccountPool`]): accounts from a file in Tempest's `accounts.yaml`
//!   shape, each held by one test at a time, across threads and processes (a lock file per
//!   account, released when the holder ends, even by a crash).
//!
//! [`CredentialsConfig`] reads the choice from the test configuration's `[auth]` table or a
//! tempest.conf's `[auth]` options (`use_dynamic_credentials`, `test_accounts_file`,
//! `tempest_roles`, `admin_username`, `admin_password`, `admin_project_name`,
//! `admin_domain_name`, `default_credentials_domain_name`) and `[identity] uri_v3`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use squall_testing::credentials::{CredentialProvider, CredentialsConfig};
//!
//! let provider = CredentialProvider::from_config(&CredentialsConfig::from_env()?)?;
//! let creds = provider.acquire("my_test").await?;
//! let clients = creds.clients(); // ServiceClients of the test's own user and project
//! # let _ = clients;
//! creds.release().await?;      // or let it drop
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;
use squall_runtime::tempest_conf::Ini;
use squall_runtime::{ClientsError, Credentials, Secret, ServiceClients};

use crate::config::{CONFIG_ENV, ConfigError, TEMPEST_CONF_ENV};
use crate::keystone::{IdentityAdmin, KeystoneError};

/// The role every dynamic user gets, as Tempest's primary credentials do.
pub const MEMBER_ROLE: &str = "member";
/// Name prefix of every project and user dynamic credentials create.
pub const NAME_PREFIX: &str = "squall-test";

/// Getting or giving back test credentials failed.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The configuration is incomplete or wrong.
    #[error("credentials configuration: {0}")]
    Config(String),
    /// A Keystone call failed.
    #[error(transparent)]
    Keystone(#[from] KeystoneError),
    /// Building the test's clients failed.
    #[error(transparent)]
    Clients(#[from] ClientsError),
    /// The accounts file cannot be used.
    #[error("accounts file {path}: {reason}")]
    Accounts {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// Every matching account stayed in use for the whole wait.
    #[error("no free account with roles {roles:?} among {total} within {waited:?}")]
    Exhausted {
        /// The roles asked for.
        roles: Vec<String>,
        /// How many accounts have them.
        total: usize,
        /// How long it waited.
        waited: Duration,
    },
}

impl From<ConfigError> for CredentialsError {
    fn from(e: ConfigError) -> Self {
        Self::Config(e.to_string())
    }
}

/// Admin credentials, as tempest.conf's `admin_*` options give them.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    /// `admin_username`.
    pub username: String,
    /// `admin_password`.
    pub password: Secret,
    /// `admin_project_name`.
    pub project_name: String,
    /// `admin_domain_name` (user and project domain).
    pub domain_name: String,
}

/// How tests get credentials.
#[derive(Debug, Clone)]
pub struct CredentialsConfig {
    /// `use_dynamic_credentials` (Tempest's default: true).
    pub use_dynamic_credentials: bool,
    /// `test_accounts_file`, for pre-provisioned accounts.
    pub test_accounts_file: Option<PathBuf>,
    /// `tempest_roles`: roles every dynamic user gets besides `member`.
    pub tempest_roles: Vec<String>,
    /// `default_credentials_domain_name` (default `Default`).
    pub domain_name: String,
    /// The admin account dynamic credentials are created with.
    pub admin: Option<AdminCredentials>,
    /// `[identity] uri_v3`.
    pub identity_uri: Option<String>,
    /// `[identity] region`.
    pub region: Option<String>,
    /// Where the values came from.
    pub origin: String,
}

impl Default for CredentialsConfig {
    fn default() -> Self {
        Self {
            use_dynamic_credentials: true,
            test_accounts_file: None,
            tempest_roles: Vec::new(),
            domain_name: "Default".to_owned(),
            admin: None,
            identity_uri: None,
            region: None,
            origin: "default".to_owned(),
        }
    }
}

fn parse_bool(origin: &str, key: &str, text: &str) -> Result<bool, CredentialsError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        other => Err(CredentialsError::Config(format!(
            "{origin}: {key}: expected true or false, got {other:?}"
        ))),
    }
}

fn roles_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

impl CredentialsConfig {
    /// Layers one `key = value` of the `[auth]` or `[identity]` section over this config.
    /// `base` resolves a relative `test_accounts_file`.
    fn set(
        &mut self,
        section: &str,
        key: &str,
        value: &str,
        base: Option<&Path>,
        admin: &mut [Option<String>; 4],
    ) -> Result<(), CredentialsError> {
        let origin = self.origin.clone();
        match (section, key) {
            ("auth", "use_dynamic_credentials") => {
                self.use_dynamic_credentials =
                    parse_bool(&origin, "[auth] use_dynamic_credentials", value)?;
            }
            ("auth", "test_accounts_file") => {
                let path = PathBuf::from(value);
                self.test_accounts_file = Some(match base {
                    Some(dir) if path.is_relative() => dir.join(path),
                    _ => path,
                });
            }
            ("auth", "tempest_roles") => self.tempest_roles = roles_list(value),
            ("auth", "default_credentials_domain_name") => self.domain_name = value.to_owned(),
            ("auth", "admin_username") => admin[0] = Some(value.to_owned()),
            ("auth", "admin_password") => admin[1] = Some(value.to_owned()),
            ("auth", "admin_project_name") => admin[2] = Some(value.to_owned()),
            ("auth", "admin_domain_name") => admin[3] = Some(value.to_owned()),
            ("identity", "uri_v3") => self.identity_uri = Some(value.to_owned()),
            ("identity", "region") => self.region = Some(value.to_owned()),
            _ => {}
        }
        Ok(())
    }

    fn finish_admin(&mut self, admin: [Option<String>; 4]) {
        let [username, password, project, domain] = admin;
        if let (Some(username), Some(password)) = (username, password) {
            self.admin = Some(AdminCredentials {
                username,
                password: Secret::new(password),
                project_name: project.unwrap_or_else(|| "admin".to_owned()),
                domain_name: domain.unwrap_or_else(|| self.domain_name.clone()),
            });
        }
    }

    /// Reads the `[auth]` and `[identity]` options of a tempest.conf, over `self`.
    pub fn with_tempest_conf(
        mut self,
        text: &str,
        origin: &str,
        base: Option<&Path>,
    ) -> Result<Self, CredentialsError> {
        let ini = Ini::parse(text).map_err(|(line, reason)| {
            CredentialsError::Config(format!("{origin}:{line}: {reason}"))
        })?;
        self.origin = origin.to_owned();
        let mut admin = Default::default();
        for (section, options) in ini.sections() {
            for (key, value) in options {
                self.set(section, key, value, base, &mut admin)?;
            }
        }
        self.finish_admin(admin);
        Ok(self)
    }

    /// Reads the `[auth]` and `[identity]` tables of the project's TOML file, over `self`
    /// (same keys as tempest.conf; `tempest_roles` may be an array).
    pub fn with_toml(
        mut self,
        text: &str,
        origin: &str,
        base: Option<&Path>,
    ) -> Result<Self, CredentialsError> {
        let doc: toml::Table = toml::from_str(text)
            .map_err(|e| CredentialsError::Config(format!("{origin}: {}", e.message())))?;
        self.origin = origin.to_owned();
        let mut admin = Default::default();
        for section in ["auth", "identity"] {
            let Some(table) = doc.get(section).and_then(toml::Value::as_table) else {
                continue;
            };
            for (key, value) in table {
                let text = match value {
                    toml::Value::String(s) => s.clone(),
                    toml::Value::Boolean(b) => b.to_string(),
                    toml::Value::Array(items) => items
                        .iter()
                        .filter_map(toml::Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                    other => {
                        return Err(CredentialsError::Config(format!(
                            "{origin}: [{section}] {key}: unexpected {}",
                            other.type_str()
                        )));
                    }
                };
                self.set(section, key, &text, base, &mut admin)?;
            }
        }
        self.finish_admin(admin);
        Ok(self)
    }

    /// The configuration the environment names: `SQUALL_TEMPEST_CONF`, then
    /// `SQUALL_TEST_CONFIG` over it; Tempest's defaults when neither is set.
    pub fn from_env() -> Result<Self, CredentialsError> {
        let mut config = Self::default();
        for (env, tempest) in [(TEMPEST_CONF_ENV, true), (CONFIG_ENV, false)] {
            let Some(path) = std::env::var_os(env).map(PathBuf::from) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(|e| {
                CredentialsError::Config(format!("{}: cannot be read: {e}", path.display()))
            })?;
            let origin = path.display().to_string();
            let base = path.parent();
            config = if tempest {
                config.with_tempest_conf(&text, &origin, base)?
            } else {
                config.with_toml(&text, &origin, base)?
            };
        }
        Ok(config)
    }

    /// Admin [`ServiceClients`] from the `admin_*` options and `uri_v3`.
    pub fn admin_clients(&self) -> Result<ServiceClients, CredentialsError> {
        let (Some(admin), Some(uri)) = (&self.admin, &self.identity_uri) else {
            return Err(CredentialsError::Config(format!(
                "{}: dynamic credentials need [auth] admin_username/admin_password and [identity] uri_v3",
                self.origin
            )));
        };
        let credentials = Credentials::password(
            &admin.username,
            &admin.domain_name,
            admin.password.clone(),
            &admin.project_name,
            &admin.domain_name,
        );
        let mut builder = ServiceClients::new(credentials, uri);
        if let Some(region) = &self.region {
            builder = builder.region(region.clone());
        }
        Ok(builder.build()?)
    }
}

/// Where tests get their credentials from.
#[derive(Debug, Clone)]
pub enum CredentialProvider {
    /// A new project and user per acquisition.
    Dynamic(Box<DynamicCredentials>),
    /// Accounts from a file, one holder at a time.
    PreProvisioned(AccountPool),
}

impl From<DynamicCredentials> for CredentialProvider {
    fn from(dynamic: DynamicCredentials) -> Self {
        Self::Dynamic(Box::new(dynamic))
    }
}

impl From<AccountPool> for CredentialProvider {
    fn from(pool: AccountPool) -> Self {
        Self::PreProvisioned(pool)
    }
}

impl CredentialProvider {
    /// The provider the configuration asks for: pre-provisioned accounts when
    /// `use_dynamic_credentials` is false (then `test_accounts_file` is required), otherwise
    /// dynamic credentials made with the admin account.
    pub fn from_config(config: &CredentialsConfig) -> Result<Self, CredentialsError> {
        if config.use_dynamic_credentials {
            let admin = config.admin_clients()?;
            return Ok(Self::Dynamic(Box::new(
                DynamicCredentials::new(admin)
                    .roles(config.tempest_roles.iter().cloned())
                    .domain(&config.domain_name),
            )));
        }
        let Some(path) = &config.test_accounts_file else {
            return Err(CredentialsError::Config(format!(
                "{}: use_dynamic_credentials is false but no test_accounts_file is set",
                config.origin
            )));
        };
        let uri = config.identity_uri.clone().ok_or_else(|| {
            CredentialsError::Config(format!(
                "{}: pre-provisioned accounts need [identity] uri_v3",
                config.origin
            ))
        })?;
        let mut pool = AccountPool::load(path, &uri)?;
        if let Some(region) = &config.region {
            pool = pool.region(region);
        }
        Ok(Self::PreProvisioned(pool))
    }

    /// Credentials for the test (or group) `name`, with the configured roles.
    pub async fn acquire(&self, name: &str) -> Result<TestCredentials, CredentialsError> {
        match self {
            Self::Dynamic(dynamic) => dynamic.acquire(name).await,
            Self::PreProvisioned(pool) => pool.acquire(&[]).await,
        }
    }
}

/// Creates a project and a user per test through Keystone, with admin credentials.
#[derive(Debug, Clone)]
pub struct DynamicCredentials {
    admin: ServiceClients,
    identity: IdentityAdmin,
    roles: Vec<String>,
    domain: String,
}

static SERIAL: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and moment: `squall-test-<what>-<pid>-<n>-<nanos>`.
fn unique_name(what: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let short: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(24)
        .collect();
    format!(
        "{NAME_PREFIX}-{short}-{}-{}-{nanos}",
        std::process::id(),
        SERIAL.fetch_add(1, Ordering::Relaxed)
    )
}

fn random_password() -> Secret {
    // Not a secret worth more: a throwaway user's password for one test. Mix time, pid and a
    // counter through the std hasher's random keys.
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    let mut text = String::new();
    for round in 0..4u64 {
        let mut h = state.build_hasher();
        h.write_u64(round);
        h.write_u64(SERIAL.fetch_add(1, Ordering::Relaxed));
        h.write_u32(std::process::id());
        text.push_str(&format!("{:016x}", h.finish()));
    }
    Secret::new(text)
}

impl DynamicCredentials {
    /// Dynamic credentials created with `admin` (which must hold Keystone's admin role).
    pub fn new(admin: ServiceClients) -> Self {
        Self {
            identity: IdentityAdmin::new(&admin),
            admin,
            roles: vec![MEMBER_ROLE.to_owned()],
            domain: "Default".to_owned(),
        }
    }

    /// Adds roles every user gets (Tempest's `tempest_roles`).
    pub fn roles(mut self, roles: impl IntoIterator<Item = String>) -> Self {
        for role in roles {
            if !self.roles.contains(&role) {
                self.roles.push(role);
            }
        }
        self
    }

    /// The domain (name) projects and users are created in.
    pub fn domain(mut self, name: &str) -> Self {
        self.domain = name.to_owned();
        self
    }

    /// The Keystone admin calls used.
    pub fn identity(&self) -> &IdentityAdmin {
        &self.identity
    }

    /// Creates a project and a user with the roles for `name`. A failure half-way deletes
    /// what was created.
    pub async fn acquire(&self, name: &str) -> Result<TestCredentials, CredentialsError> {
        let domain_id = self.identity.domain_id(&self.domain).await?;
        let project_name = unique_name(name);
        let project_id = self
            .identity
            .create_project(&project_name, &domain_id, &format!("squall test {name}"))
            .await?;
        let mut created = Created {
            identity: self.identity.clone(),
            project_id: project_id.clone(),
            user_id: None,
            released: false,
        };
        let password = random_password();
        let user_id = self
            .identity
            .create_user(&project_name, &password, &domain_id, &project_id)
            .await?;
        created.user_id = Some(user_id.clone());
        for role in &self.roles {
            let role_id = self.identity.role_id(role).await?;
            self.identity
                .assign_project_role(&project_id, &user_id, &role_id)
                .await?;
        }
        let credentials = Credentials::password(
            &project_name,
            &self.domain,
            password,
            &project_name,
            &self.domain,
        );
        let clients = self.clients_for(credentials.clone())?;
        tracing::info!(test = name, project = %project_name, "dynamic credentials created");
        Ok(TestCredentials {
            clients,
            credentials,
            username: project_name.clone(),
            project_name,
            project_id: Some(project_id),
            user_id: Some(user_id),
            roles: self.roles.clone(),
            hold: Hold::Dynamic(created),
        })
    }

    fn clients_for(&self, credentials: Credentials) -> Result<ServiceClients, CredentialsError> {
        Ok(self.admin.with_credentials(credentials)?)
    }
}

/// What dynamic credentials created; deleted on release or drop.
#[derive(Debug)]
struct Created {
    identity: IdentityAdmin,
    project_id: String,
    user_id: Option<String>,
    released: bool,
}

impl Created {
    async fn delete(&mut self) -> Result<(), KeystoneError> {
        if self.released {
            return Ok(());
        }
        self.released = true;
        remove(&self.identity, &self.project_id, self.user_id.as_deref()).await
    }
}

/// Deletes the user (when there is one), then the project; both are tried.
async fn remove(
    identity: &IdentityAdmin,
    project_id: &str,
    user_id: Option<&str>,
) -> Result<(), KeystoneError> {
    let user = match user_id {
        Some(user) => identity.delete_user(user).await,
        None => Ok(()),
    };
    let project = identity.delete_project(project_id).await;
    user.and(project)
}

impl Drop for Created {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        self.released = true;
        // Not released: the test panicked or forgot. Delete on a thread of its own with its
        // own runtime (this may run inside an async runtime, which must not block).
        let (identity, project_id, user_id) = (
            self.identity.clone(),
            self.project_id.clone(),
            self.user_id.clone(),
        );
        let joined = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
                .and_then(|runtime| {
                    runtime
                        .block_on(remove(&identity, &project_id, user_id.as_deref()))
                        .map_err(|e| e.to_string())
                })
        })
        .join();
        match joined {
            Ok(Ok(())) => {
                tracing::info!(project = %self.project_id, "dynamic credentials deleted on drop")
            }
            Ok(Err(error)) => {
                tracing::error!(project = %self.project_id, %error, "dynamic credentials could not be deleted");
            }
            Err(_) => tracing::error!("deleting dynamic credentials panicked"),
        }
    }
}

#[derive(Debug)]
enum Hold {
    Dynamic(Created),
    Account(#[allow(dead_code)] File),
}

/// Credentials one test holds: its own [`ServiceClients`], and what to give back.
#[derive(Debug)]
pub struct TestCredentials {
    clients: ServiceClients,
    credentials: Credentials,
    /// The user's name.
    pub username: String,
    /// The project's name.
    pub project_name: String,
    /// The project's id (dynamic credentials).
    pub project_id: Option<String>,
    /// The user's id (dynamic credentials).
    pub user_id: Option<String>,
    /// The roles the user has on the project.
    pub roles: Vec<String>,
    hold: Hold,
}

impl TestCredentials {
    /// The test's clients, authenticated as its own user.
    pub fn clients(&self) -> &ServiceClients {
        &self.clients
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Gives the credentials back: deletes a dynamic user and project (an error names the
    /// Keystone call), frees a pre-provisioned account.
    pub async fn release(mut self) -> Result<(), CredentialsError> {
        if let Hold::Dynamic(created) = &mut self.hold {
            created.delete().await?;
        }
        Ok(())
    }
}

/// One entry of an `accounts.yaml`.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// `username`.
    pub username: String,
    /// `password`.
    pub password: String,
    /// `project_name` (or Tempest's older `tenant_name`).
    #[serde(alias = "tenant_name")]
    pub project_name: Option<String>,
    /// `domain_name`: the user's and project's domain unless set apart.
    pub domain_name: Option<String>,
    /// `user_domain_name`.
    pub user_domain_name: Option<String>,
    /// `project_domain_name`.
    pub project_domain_name: Option<String>,
    /// `roles` the account has.
    #[serde(default)]
    pub roles: Vec<String>,
    /// `resources` (networks, routers): read and kept, not used.
    #[serde(default)]
    pub resources: Option<serde_yaml::Value>,
}

/// Pre-provisioned accounts, each held by one test at a time.
#[derive(Debug, Clone)]
pub struct AccountPool {
    accounts: Arc<Vec<Account>>,
    identity_uri: String,
    region: Option<String>,
    lock_dir: PathBuf,
    wait: Duration,
}

impl AccountPool {
    /// Reads `path` (Tempest's `accounts.yaml` shape: a list of accounts).
    pub fn load(path: &Path, identity_uri: &str) -> Result<Self, CredentialsError> {
        let accounts_error = |reason: String| CredentialsError::Accounts {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| accounts_error(e.to_string()))?;
        let accounts: Vec<Account> =
            serde_yaml::from_str(&text).map_err(|e| accounts_error(e.to_string()))?;
        if accounts.is_empty() {
            return Err(accounts_error("no accounts".to_owned()));
        }
        Ok(Self::new(accounts, identity_uri, &default_lock_dir(path)))
    }

    /// A pool of `accounts`, locked in `lock_dir` (shared by every process using the pool).
    pub fn new(accounts: Vec<Account>, identity_uri: &str, lock_dir: &Path) -> Self {
        Self {
            accounts: Arc::new(accounts),
            identity_uri: identity_uri.to_owned(),
            region: None,
            lock_dir: lock_dir.to_owned(),
            wait: Duration::from_secs(600),
        }
    }

    /// The region the accounts' clients use.
    pub fn region(mut self, region: &str) -> Self {
        self.region = Some(region.to_owned());
        self
    }

    /// How long [`acquire`](Self::acquire) waits for a free account (default 10 minutes).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// The accounts.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// Holds a free account that has every role in `roles` (with no roles asked, one without
    /// the `admin` role, Tempest's primary credentials), waiting while all are held.
    pub async fn acquire(&self, roles: &[&str]) -> Result<TestCredentials, CredentialsError> {
        let wanted: BTreeSet<&str> = roles.iter().copied().collect();
        let matching: Vec<(usize, &Account)> = self
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                let has: BTreeSet<&str> = a.roles.iter().map(String::as_str).collect();
                if wanted.is_empty() {
                    !has.contains("admin")
                } else {
                    wanted.is_subset(&has)
                }
            })
            .collect();
        let exhausted = |waited| CredentialsError::Exhausted {
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            total: matching.len(),
            waited,
        };
        if matching.is_empty() {
            return Err(exhausted(Duration::ZERO));
        }
        std::fs::create_dir_all(&self.lock_dir).map_err(|e| CredentialsError::Accounts {
            path: self.lock_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let started = Instant::now();
        loop {
            for (index, account) in &matching {
                if let Some(lock) = self.try_hold(*index, account)? {
                    return self.hand_out(account, lock);
                }
            }
            if started.elapsed() >= self.wait {
                return Err(exhausted(started.elapsed()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn try_hold(&self, index: usize, account: &Account) -> Result<Option<File>, CredentialsError> {
        let name = format!("{index}-{}.lock", sanitize(&account.username));
        let path = self.lock_dir.join(name);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CredentialsError::Accounts {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        // flock(2): held by this open file until it is closed, also when the process dies.
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(file)),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(CredentialsError::Accounts {
                path: path.display().to_string(),
                reason: e.to_string(),
            }),
        }
    }

    fn hand_out(&self, account: &Account, lock: File) -> Result<TestCredentials, CredentialsError> {
        let domain = account
            .domain_name
            .clone()
            .unwrap_or_else(|| "Default".to_owned());
        let project = account.project_name.clone().unwrap_or_default();
        let credentials = Credentials::password(
            &account.username,
            account.user_domain_name.as_deref().unwrap_or(&domain),
            Secret::new(account.password.clone()),
            &project,
            account.project_domain_name.as_deref().unwrap_or(&domain),
        );
        let mut builder = ServiceClients::new(credentials.clone(), &self.identity_uri);
        if let Some(region) = &self.region {
            builder = builder.region(region.clone());
        }
        Ok(TestCredentials {
            clients: builder.build()?,
            credentials,
            username: account.username.clone(),
            project_name: project,
            project_id: None,
            user_id: None,
            roles: account.roles.clone(),
            hold: Hold::Account(lock),
        })
    }
}

fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Lock files live beside the accounts file, in `.<file name>.locks/`.
fn default_lock_dir(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "accounts".to_owned());
    path.with_file_name(format!(".{name}.locks"))
}
