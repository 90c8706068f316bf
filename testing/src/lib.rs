//! squall-testing: write microversion tests the way Tempest does, in Rust.
//!
//! - [`config`]: the configured `min_microversion`/`max_microversion` per service, from the
//!   project's TOML file or an existing tempest.conf.
//! - [`select`]: Tempest's rules: skip when the test's range and the configured range do not
//!   meet, otherwise send `max(test_min, cfg_min)`.
//! - [`suite`]: a libtest-compatible harness (`harness = false`) that decides at runtime, skips
//!   with a reason, negotiates with the server, and hands each test clients at its own version.
//! - [`assertions`]: Tempest's version-header comparisons.
//! - [`credentials`]: each test's own credentials, dynamic (a Keystone project and user per
//!   test or group, deleted afterwards even after a panic) or pre-provisioned (Tempest's
//!   `accounts.yaml`, one holder per account); [`keystone`] holds the hand-written Keystone
//!   calls they use.
//! - [`cleanup`]: cleanups run in reverse order after a test, also after a failure.
//!
//! ```no_run
//! use squall_clients::compute::{self, keypairs::KeypairsClient};
//! use squall_testing::{Requires, Suite, TestContext, TestResult};
//!
//! async fn keypairs_have_a_type(ctx: TestContext) -> TestResult {
//!     let keypairs: KeypairsClient = ctx.client().await?;
//!     assert_eq!(keypairs.microversion(), ctx.version(&compute::SERVICE).unwrap_or_default());
//!     Ok(())
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     let mut suite = Suite::from_env();
//!     suite.test(
//!         "keypairs_v22",
//!         Requires::new().service(&compute::SERVICE, "2.2", "latest"),
//!         keypairs_have_a_type,
//!     );
//!     suite.run()
//! }
//! ```

#![warn(missing_docs)]

pub mod assertions;
pub mod cleanup;
pub mod config;
pub mod credentials;
pub mod fake;
pub mod keystone;
pub mod select;
pub mod suite;

pub use assertions::{
    HeaderCheckError, VersionOp, assert_answered, assert_version_header_matches_request,
    compare_version_header_to_response,
};
pub use cleanup::{CleanupFailure, Cleanups, guarded};
pub use config::{ConfigError, ConfiguredRange, MicroversionConfig};
pub use credentials::{
    AccountPool, CredentialProvider, CredentialsConfig, CredentialsError, DynamicCredentials,
    TestCredentials,
};
pub use select::{Decision, Selection, TestRange, decide, select_request_version};
pub use suite::{
    Connection, FrameworkError, Group, Outcome, Requires, Suite, SuiteReport, TestContext,
    TestError, TestRecord, TestResult,
};
