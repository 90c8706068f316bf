//! The sample microversion tests as a suite (`harness = false`), under the configuration the
//! environment names (`SQUALL_TEST_CONFIG`, `SQUALL_TEMPEST_CONF`; none–none by default).
//!
//! ```text
//! SQUALL_TEST_CONFIG=tests/configs/2.2-latest.toml cargo test --test microversion_samples
//! ```

mod common;
mod samples;

fn main() -> std::process::ExitCode {
    let mut suite = squall_testing::Suite::from_env()
        .connect(common::connection)
        .live("live: needs Nova, Placement and Ironic (scripts/services.py up)");
    samples::register(&mut suite);
    suite.run()
}
