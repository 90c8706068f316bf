//! A config guard survives a killed test process: a child process (this test binary, running
//! the ignored `child_edits_and_waits_to_be_killed`) takes a guard on a scratch file on the real
//! sshd host, edits it and is killed with SIGKILL, so no `Drop` runs. The journal it left beside
//! the file lets the next whitebox run put the file back byte for byte, with its mode, and
//! restart the service.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use squall_whitebox::inventory::ServiceEntry;
use squall_whitebox::{Inventory, Whitebox};

const ORIGINAL: &[u8] = b"# crash test\n[DEFAULT]\ndebug = False\n\n[compute]\n\
cpu_dedicated_set = 2-7\n; odd spacing   =   kept\n# no newline at the end";

const SERVICE: &str = "scratch-service";
const CHILD: &str = "child_edits_and_waits_to_be_killed";
const PATH_VAR: &str = "SQUALL_CRASH_TEST_PATH";
const MARKER_VAR: &str = "SQUALL_CRASH_TEST_MARKER";

/// The test inventory with one service whose config file is `path` and whose restart command
/// appends a line to `marker`.
fn inventory(path: &str, marker: &str) -> Inventory {
    let mut inventory = common::inventory();
    let host = common::env().compute_host;
    let node = inventory.nodes.get_mut(&host).unwrap();
    node.services.insert(
        SERVICE.to_owned(),
        ServiceEntry {
            config_path: Some(path.to_owned()),
            restart: Some(format!("echo restarted >> {marker}")),
            ..ServiceEntry::default()
        },
    );
    inventory
}

/// The child: guard, edit, say so, wait to be killed.
#[tokio::test]
#[ignore = "manual: the child process that a_killed_guard_is_restored_by_the_next_run starts"]
async fn child_edits_and_waits_to_be_killed() {
    let (Ok(path), Ok(marker)) = (std::env::var(PATH_VAR), std::env::var(MARKER_VAR)) else {
        panic!("run only as the child of a_killed_guard_is_restored_by_the_next_run");
    };
    let wb = Whitebox::new(inventory(&path, &marker)).unwrap();
    let config = wb.config(&common::env().compute_host, SERVICE).unwrap();
    let guard = config.guard().await.unwrap();
    guard.set("DEFAULT", "debug", "True").await.unwrap();
    guard.delete("compute", "cpu_dedicated_set").await.unwrap();
    println!("EDITED");
    tokio::time::sleep(Duration::from_secs(120)).await;
    panic!("not killed in time");
}

/// Runs the child until it has edited the file, then kills it with SIGKILL.
fn run_and_kill_child(path: &str, marker: &str) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CHILD,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PATH_VAR, path)
        .env(MARKER_VAR, marker)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.trim_end().ends_with("EDITED") {
                let _ = tx.send(());
            }
        }
    });
    let edited = rx.recv_timeout(Duration::from_secs(60));
    // Child::kill is SIGKILL on Unix: no destructor, no unwinding.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(edited.is_ok(), "the child never reported its edit");
    assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
}

#[tokio::test]
#[ignore = "live: needs sshd and the whitebox host (scripts/whitebox.py up)"]
async fn a_killed_guard_is_restored_by_the_next_run() {
    let env = common::env();
    let folder = env.nodes_file.parent().unwrap().join("scratch");
    let path = folder
        .join(format!("{}.conf", common::unique("crash")))
        .to_str()
        .unwrap()
        .to_owned();
    let marker = format!("{path}.restarts");
    let wb = Whitebox::new(inventory(&path, &marker)).unwrap();
    let ssh = wb.ssh(&env.compute_host).unwrap();
    ssh.run(&format!("mkdir -p {}", folder.display()))
        .await
        .unwrap();
    ssh.write_file_atomic(&path, ORIGINAL).await.unwrap();
    ssh.run(&format!("chmod 640 {path}")).await.unwrap();
    let config = wb.config(&env.compute_host, SERVICE).unwrap();
    let journal = config.journal_path();

    run_and_kill_child(&path, &marker);
    let edited = ssh.read_file(&path).await.unwrap();
    assert_ne!(edited, ORIGINAL, "the child's edit is on disk");
    assert!(String::from_utf8_lossy(&edited).contains("debug = True"));
    assert!(
        Path::new(&journal).exists(),
        "the killed guard left its journal"
    );
    // Make the mode differ too, so restoring it is visible.
    ssh.run(&format!("chmod 600 {path}")).await.unwrap();

    // The next run.
    let restored = wb.recover().await.unwrap();
    assert_eq!(restored, vec![format!("{}:{path}", env.compute_host)]);
    assert_eq!(
        ssh.read_file(&path).await.unwrap(),
        ORIGINAL,
        "byte for byte"
    );
    let mode = ssh.run(&format!("stat -c %a {path}")).await.unwrap();
    assert_eq!(mode.stdout_text().trim(), "640");
    let restarts = ssh.read_file(&marker).await.unwrap();
    assert_eq!(restarts, b"restarted\n", "the service was restarted once");
    assert!(!Path::new(&journal).exists(), "the journal is gone");
    assert!(wb.recover().await.unwrap().is_empty(), "nothing left to do");

    // Killed again; this time a new guard on the same file recovers before saving, so it
    // saves the original and not the killed edit.
    run_and_kill_child(&path, &marker);
    assert_ne!(ssh.read_file(&path).await.unwrap(), ORIGINAL);
    let guard = config.guard().await.unwrap();
    assert_eq!(guard.original(), ORIGINAL);
    assert_eq!(ssh.read_file(&path).await.unwrap(), ORIGINAL);
    assert!(Path::new(&journal).exists(), "the new guard's journal");
    guard.restore().unwrap();
    assert!(!Path::new(&journal).exists());
    assert_eq!(
        ssh.read_file(&marker).await.unwrap(),
        b"restarted\nrestarted\nrestarted\n",
        "restarted after the recovery and after the restore"
    );
    ssh.run(&format!("rm -f {path} {marker}")).await.unwrap();
}
