//! INI config files edited over SSH on real files, and the guard that restores them byte for
//! byte, also when a test panics.

mod common;

use squall_whitebox::{Error, RemoteConfig, SshClient};

const ORIGINAL: &str = "# A nova.conf with the usual furniture.\n[DEFAULT]\ndebug = False\n\
; keep me\ninstance_name_template = instance-%08x\n\n[pci]\n\
device_spec = {\"vendor_id\": \"8086\", \"product_id\": \"154c\"}\n\
device_spec = {\"vendor_id\": \"15b3\"}\n\n[compute]\ncpu_dedicated_set = 2-7\n\
# trailing comment, and no newline at the end";

/// A fresh scratch file on the host (mode 0640), with its client.
async fn scratch(ssh: &SshClient) -> (RemoteConfig, String) {
    let folder = common::env().nodes_file.parent().unwrap().join("scratch");
    let path = folder.join(format!("{}.conf", common::unique("nova")));
    let path = path.to_str().unwrap().to_owned();
    ssh.run(&format!("mkdir -p {}", folder.display()))
        .await
        .unwrap();
    ssh.write_file_atomic(&path, ORIGINAL.as_bytes())
        .await
        .unwrap();
    ssh.run(&format!("chmod 640 {path}")).await.unwrap();
    (RemoteConfig::new(ssh.clone(), path.clone(), None), path)
}

fn ssh() -> SshClient {
    common::whitebox().ssh(&common::env().compute_host).unwrap()
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn edits_keep_sections_repeated_keys_comments_and_mode() {
    let ssh = ssh();
    let (config, path) = scratch(&ssh).await;
    config.set("DEFAULT", "debug", "True").await.unwrap();
    config
        .set("libvirt", "cpu_mode", "host-passthrough")
        .await
        .unwrap();
    assert!(config.delete("compute", "cpu_dedicated_set").await.unwrap());
    assert!(!config.delete("compute", "cpu_dedicated_set").await.unwrap());
    let doc = config.read().await.unwrap();
    assert_eq!(doc.get("DEFAULT", "debug").as_deref(), Some("True"));
    assert_eq!(doc.get_all("pci", "device_spec").len(), 2);
    assert_eq!(
        config.require("libvirt", "cpu_mode").await.unwrap(),
        "host-passthrough"
    );
    let text = String::from_utf8(ssh.read_file(&path).await.unwrap()).unwrap();
    assert!(
        text.starts_with(
            "# A nova.conf with the usual furniture.\n[DEFAULT]\ndebug = True\n; keep me\n"
        ),
        "{text}"
    );
    assert!(text.contains("[compute]\n# trailing comment, and no newline at the end\n\n[libvirt]\ncpu_mode = host-passthrough\n"), "{text}");
    // Atomic replacement kept the mode; no temporary file is left behind.
    let mode = ssh
        .run(&format!("stat -c %a {path}"))
        .await
        .unwrap()
        .stdout_text();
    assert_eq!(mode.trim(), "640");
    let leftovers = ssh
        .run(&format!(
            "ls -a $(dirname {path}) | grep -c '^.squall-' || true"
        ))
        .await
        .unwrap();
    assert_eq!(leftovers.stdout_text().trim(), "0");
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn the_guard_restores_byte_for_byte_on_drop() {
    let ssh = ssh();
    let (config, path) = scratch(&ssh).await;
    {
        let guard = config.guard().await.unwrap();
        assert_eq!(guard.original(), ORIGINAL.as_bytes());
        guard.set("DEFAULT", "debug", "True").await.unwrap();
        guard.delete("pci", "device_spec").await.unwrap();
        assert_ne!(ssh.read_file(&path).await.unwrap(), ORIGINAL.as_bytes());
    }
    assert_eq!(ssh.read_file(&path).await.unwrap(), ORIGINAL.as_bytes());
    // And explicitly, with the outcome as a Result.
    let guard = config.guard().await.unwrap();
    guard.set("compute", "cpu_shared_set", "0-1").await.unwrap();
    guard.restore().unwrap();
    assert_eq!(ssh.read_file(&path).await.unwrap(), ORIGINAL.as_bytes());
}

#[test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
fn the_guard_restores_after_a_test_panics() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ssh = ssh();
    let (config, path) = runtime.block_on(scratch(&ssh));
    // A "test" in its own thread and runtime that edits the file and then panics.
    let in_thread = config.clone();
    let panicked = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let guard = in_thread.guard().await.unwrap();
            guard.set("DEFAULT", "debug", "True").await.unwrap();
            panic!("the test failed half way");
        })
    })
    .join();
    assert!(panicked.is_err(), "the thread panicked");
    assert_eq!(ssh.read_file_blocking(&path).unwrap(), ORIGINAL.as_bytes());

    // The same with catch_unwind in this very thread: the guard's Drop runs while unwinding.
    let guard = runtime.block_on(config.guard()).unwrap();
    runtime
        .block_on(guard.set("compute", "cpu_dedicated_set", "9"))
        .unwrap();
    assert_ne!(ssh.read_file_blocking(&path).unwrap(), ORIGINAL.as_bytes());
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _guard = guard;
        panic!("assertion failed inside the guarded block");
    }));
    assert!(result.is_err());
    assert_eq!(ssh.read_file_blocking(&path).unwrap(), ORIGINAL.as_bytes());
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_missing_service_section_is_a_clear_error() {
    let wb = common::whitebox();
    let host = common::env().compute_host;
    let err = wb.config(&host, "nova-api").unwrap_err();
    assert!(matches!(err, Error::UnknownService { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("no service section \"nova-api\"") && text.contains("libvirt, nova-compute"),
        "{text}"
    );
    let err = wb.config(&host, "libvirt").unwrap_err();
    assert!(
        err.to_string().contains("no config_path configured"),
        "{err}"
    );
    let err = wb.service(&host, "neutron-sriov-agent").unwrap_err();
    assert!(matches!(err, Error::UnknownService { .. }), "{err:?}");
    // A section missing from the config file itself.
    let (config, path) = scratch(&wb.ssh(&host).unwrap()).await;
    let err = config.require("libvirt", "cpu_mode").await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&path) && text.contains("no section [libvirt]"),
        "{text}"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_missing_file_is_a_config_error_with_the_path() {
    let ssh = ssh();
    let config = RemoteConfig::new(ssh, "/nonexistent/nova.conf", None);
    let err = config.read().await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    assert!(
        text.contains("/nonexistent/nova.conf") && text.contains("No such file"),
        "{text}"
    );
}
