//! Offline: cleanups run in reverse order after a failing or panicking test and report their
//! own errors beside the test's; pre-provisioned accounts are never held by two tests at once;
//! the credentials configuration from tempest.conf and the TOML file.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use squall_testing::credentials::{Account, AccountPool, CredentialsConfig};
use squall_testing::{Outcome, Requires, Suite, TestContext, TestResult, guarded};

type Log = Arc<Mutex<Vec<String>>>;

fn register(ctx: &TestContext, log: &Log, name: &str) {
    let log = Arc::clone(log);
    let name = name.to_owned();
    ctx.add_cleanup(name.clone(), async move {
        log.lock().unwrap().push(name);
        Ok::<(), squall_testing::TestError>(())
    });
}

#[test]
fn cleanups_run_in_reverse_order_after_a_failing_and_a_panicking_test() {
    let failing_log: Log = Arc::default();
    let panicking_log: Log = Arc::default();
    let mut suite = Suite::new(Default::default());
    let log = Arc::clone(&failing_log);
    suite.test("fails", Requires::new(), move |ctx| {
        let log = Arc::clone(&log);
        async move {
            for name in ["first", "second", "third"] {
                register(&ctx, &log, name);
            }
            // A cleanup that fails: reported, and the others still run.
            ctx.add_cleanup("broken", async {
                Err::<(), _>(squall_testing::TestError::from("the resource is stuck"))
            });
            assert_eq!(1 + 1, 3, "the test's own failure");
            Ok(())
        }
    });
    let log = Arc::clone(&panicking_log);
    suite.test("panics", Requires::new(), move |ctx| {
        let log = Arc::clone(&log);
        async move {
            register(&ctx, &log, "a");
            register(&ctx, &log, "b");
            panic!("boom");
        }
    });
    suite.test(
        "passes_but_cleanup_fails",
        Requires::new(),
        |ctx| async move {
            ctx.add_cleanup("leaky", async {
                Err::<(), _>(squall_testing::TestError::from("could not delete"))
            });
            Ok(())
        },
    );
    let report = suite.run_captured(1);

    assert_eq!(*failing_log.lock().unwrap(), ["third", "second", "first"]);
    assert_eq!(*panicking_log.lock().unwrap(), ["b", "a"]);
    let Outcome::Failed(message) = &report.get("fails").unwrap().outcome else {
        panic!("{report:#?}");
    };
    // The test's own failure first, then the cleanup's.
    let own = message.find("the test's own failure").expect(message);
    let cleanup = message.find("the resource is stuck").expect(message);
    assert!(own < cleanup, "{message}");
    let Outcome::Failed(message) = &report.get("panics").unwrap().outcome else {
        panic!("{report:#?}");
    };
    assert!(message.contains("boom"), "{message}");
    let Outcome::Failed(message) = &report.get("passes_but_cleanup_fails").unwrap().outcome else {
        panic!("{report:#?}");
    };
    assert!(
        message.contains("cleanup \"leaky\" failed: could not delete"),
        "{message}"
    );
    assert_eq!(report.conclusion.num_failed, 3);
}

#[tokio::test]
async fn guarded_runs_cleanups_after_a_panic_and_keeps_the_panic() {
    let log: Log = Arc::default();
    let inner = Arc::clone(&log);
    let result: TestResult = guarded(|cleanups| async move {
        for name in ["one", "two"] {
            let log = Arc::clone(&inner);
            cleanups.add(name, async move {
                log.lock().unwrap().push(name.to_owned());
                Ok::<(), squall_testing::TestError>(())
            });
        }
        panic!("assertion in the body");
    })
    .await;
    assert_eq!(*log.lock().unwrap(), ["two", "one"]);
    let error = result.unwrap_err().to_string();
    assert!(error.contains("assertion in the body"), "{error}");
}

fn account(name: &str, roles: &[&str]) -> Account {
    serde_yaml::from_str(&format!(
        "{{username: {name}, password: pw, project_name: p-{name}, domain_name: Default, roles: [{}]}}",
        roles.join(", ")
    ))
    .unwrap()
}

/// Eight threads, each with its own runtime, take accounts from a pool of three over and over;
/// a shared table of holders shows no account ever has two.
#[test]
fn pre_provisioned_accounts_are_never_shared_between_threads() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = vec![
        account("alice", &["member"]),
        account("bob", &["member"]),
        account("carol", &["member"]),
        account("root", &["admin"]),
    ];
    let pool = AccountPool::new(accounts, "http://127.0.0.1:1/v3", dir.path())
        .wait(Duration::from_secs(60));
    let holders: Arc<Mutex<BTreeMap<String, usize>>> = Arc::default();
    let peak = Arc::new(Mutex::new(0usize));
    let handed: Arc<Mutex<Vec<String>>> = Arc::default();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (pool, holders, peak, handed) = (
                pool.clone(),
                Arc::clone(&holders),
                Arc::clone(&peak),
                Arc::clone(&handed),
            );
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                for _ in 0..5 {
                    let creds = runtime.block_on(pool.acquire(&[])).unwrap();
                    let name = creds.username.clone();
                    {
                        let mut held = holders.lock().unwrap();
                        let count = held.entry(name.clone()).or_default();
                        *count += 1;
                        assert_eq!(*count, 1, "{name} is held twice");
                        let busy = held.values().filter(|c| **c > 0).count();
                        let mut peak = peak.lock().unwrap();
                        *peak = (*peak).max(busy);
                    }
                    handed.lock().unwrap().push(name.clone());
                    std::thread::sleep(Duration::from_millis(20));
                    *holders.lock().unwrap().get_mut(&name).unwrap() -= 1;
                    drop(creds);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no thread saw an account held twice");
    }
    let handed = handed.lock().unwrap();
    assert_eq!(handed.len(), 40);
    // Only member accounts are primary credentials; all three were used, the admin never.
    assert!(!handed.iter().any(|n| n == "root"));
    for name in ["alice", "bob", "carol"] {
        assert!(handed.iter().any(|n| n == name), "{name} never handed out");
    }
    assert_eq!(
        *peak.lock().unwrap(),
        3,
        "eight threads keep all three busy"
    );

    // Asking for the admin role gets the admin account.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let admin = runtime.block_on(pool.acquire(&["admin"])).unwrap();
    assert_eq!(admin.username, "root");
    // While it is held, a second admin request waits and then gives up, naming the roles.
    let short = pool.clone().wait(Duration::from_millis(200));
    let error = runtime.block_on(short.acquire(&["admin"])).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("no free account with roles [\"admin\"]"),
        "{error}"
    );
    drop(admin);
    assert!(runtime.block_on(short.acquire(&["admin"])).is_ok());
}

#[test]
fn accounts_file_in_tempest_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("accounts.yaml");
    std::fs::write(
        &path,
        "- username: user_1\n  tenant_name: project_1\n  password: secret\n  roles: [member]\n\
         - username: admin_1\n  project_name: admin_project\n  password: secret\n  domain_name: Default\n  roles: [admin]\n  resources: {network: net}\n",
    )
    .unwrap();
    let pool = AccountPool::load(&path, "http://127.0.0.1:1/v3").unwrap();
    assert_eq!(pool.accounts().len(), 2);
    assert_eq!(
        pool.accounts()[0].project_name.as_deref(),
        Some("project_1")
    );
    std::fs::write(&path, "[]").unwrap();
    let error = AccountPool::load(&path, "http://x/v3")
        .unwrap_err()
        .to_string();
    assert!(error.contains("no accounts"), "{error}");
}

#[test]
fn credentials_configuration_from_tempest_conf_and_toml() {
    let conf = "[auth]\nuse_dynamic_credentials = false\ntest_accounts_file = accounts.yaml\n\
                tempest_roles = reader, creator\nadmin_username = admin\nadmin_password = pw\n\
                admin_project_name = admin\nadmin_domain_name = Default\n\
                [identity]\nuri_v3 = http://127.0.0.1:15000/v3\nregion = RegionOne\n";
    let dir = std::path::Path::new("/etc/tempest");
    let config = CredentialsConfig::default()
        .with_tempest_conf(conf, "tempest.conf", Some(dir))
        .unwrap();
    assert!(!config.use_dynamic_credentials);
    assert_eq!(
        config.test_accounts_file.as_deref(),
        Some(dir.join("accounts.yaml").as_path())
    );
    assert_eq!(config.tempest_roles, ["reader", "creator"]);
    assert_eq!(config.admin.as_ref().unwrap().username, "admin");
    assert_eq!(
        config.identity_uri.as_deref(),
        Some("http://127.0.0.1:15000/v3")
    );
    // The TOML file over it turns dynamic credentials back on, roles as an array; the
    // microversion tables beside it are not disturbed.
    let toml = "[compute]\nmin_microversion = \"2.1\"\nmax_microversion = \"latest\"\n[auth]\nuse_dynamic_credentials = true\ntempest_roles = [\"member\"]\n";
    let config = config.with_toml(toml, "squall.toml", None).unwrap();
    assert!(config.use_dynamic_credentials);
    assert_eq!(config.tempest_roles, ["member"]);
    let ranges = squall_testing::MicroversionConfig::from_toml_str(toml, "squall.toml").unwrap();
    assert_eq!(ranges.services().collect::<Vec<_>>(), ["compute"]);
    let bad = CredentialsConfig::default()
        .with_tempest_conf("[auth]\nuse_dynamic_credentials = maybe\n", "t.conf", None)
        .unwrap_err()
        .to_string();
    assert!(bad.contains("use_dynamic_credentials"), "{bad}");
    // Dynamic credentials without admin options name what is missing.
    let missing = squall_testing::CredentialProvider::from_config(&CredentialsConfig::default())
        .unwrap_err()
        .to_string();
    assert!(missing.contains("admin_username"), "{missing}");
}

/// Pre-provisioned accounts without an accounts file: the error names the option (what
/// `Suite::credentials_from_config` fails every test with).
#[test]
fn pre_provisioned_without_a_file_names_the_option() {
    let config = CredentialsConfig::default()
        .with_tempest_conf(
            "[auth]\nuse_dynamic_credentials = false\n",
            "tempest.conf",
            None,
        )
        .unwrap();
    let error = squall_testing::CredentialProvider::from_config(&config)
        .unwrap_err()
        .to_string();
    assert!(error.contains("no test_accounts_file"), "{error}");
}
