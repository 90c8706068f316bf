//! SSH exec against a real sshd on 127.0.0.1 (generated host and user keys).

mod common;

use std::time::Duration;

use squall_whitebox::{Error, HostKeyPolicy, Inventory, SshClient};

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn commands_really_run_over_one_reused_connection() {
    let wb = common::whitebox();
    let host = common::env().compute_host;
    let ssh = wb.ssh(&host).unwrap();
    let mut client_ports = Vec::new();
    for _ in 0..3 {
        let out = ssh.run("echo \"$SSH_CONNECTION\"; id -un").await.unwrap();
        let text = out.stdout_text();
        let mut lines = text.lines();
        // SSH_CONNECTION is "client_ip client_port server_ip server_port", set by sshd.
        let connection: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(connection.len(), 4, "{text}");
        assert_eq!(connection[3], common::env().ssh.port.to_string());
        client_ports.push(connection[1].to_owned());
        assert_eq!(lines.next(), Some("root"));
    }
    assert!(
        client_ports.windows(2).all(|w| w[0] == w[1]),
        "one TCP connection: {client_ports:?}"
    );
    assert_eq!(ssh.connections_opened(), 1);
    // The facade hands out the same connection for the same host.
    wb.ssh(&host).unwrap().run("true").await.unwrap();
    assert_eq!(ssh.connections_opened(), 1);
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn stdin_and_binary_output_round_trip() {
    let ssh = common::whitebox().ssh(&common::env().compute_host).unwrap();
    let data: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let out = ssh
        .exec_with("cat", Some(data.clone()), None)
        .await
        .unwrap();
    assert!(out.success());
    assert_eq!(out.stdout, data);
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_failed_command_carries_exit_status_and_stderr() {
    let ssh = common::whitebox().ssh(&common::env().compute_host).unwrap();
    let err = ssh
        .run("echo partial; echo 'no such thing' >&2; exit 3")
        .await
        .unwrap_err();
    match &err {
        Error::CommandFailed {
            host,
            status,
            stdout,
            stderr,
            command,
        } => {
            assert_eq!(host, &common::env().compute_host);
            assert_eq!(*status, Some(3));
            assert_eq!(stdout, "partial\n");
            assert_eq!(stderr, "no such thing\n");
            assert!(command.contains("exit 3"));
        }
        other => panic!("expected CommandFailed, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("exit status 3") && text.contains("no such thing"),
        "{text}"
    );
    // exec() does not treat a failure as an error.
    let out = ssh.exec("exit 7").await.unwrap();
    assert_eq!(out.status, Some(7));
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_slow_command_times_out() {
    let ssh = common::whitebox().ssh(&common::env().compute_host).unwrap();
    let err = ssh
        .exec_with("sleep 10", None, Some(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out after 300ms"), "{err}");
    // The connection is still usable afterwards.
    assert!(ssh.run("true").await.is_ok());
}

fn inventory_with(edit: impl FnOnce(&mut Inventory)) -> Inventory {
    let mut inventory = common::inventory();
    edit(&mut inventory);
    inventory
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn an_unreachable_host_is_a_clear_error() {
    let host = common::env().compute_host;
    let inventory = inventory_with(|inv| {
        // Port 1 on the loopback: nothing listens there.
        inv.nodes.get_mut(&host).unwrap().port = Some(1);
    });
    let ssh = SshClient::new(&inventory, &host).unwrap();
    let err = ssh.run("true").await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&host) && text.contains("127.0.0.1:1") && text.contains("cannot connect"),
        "{text}"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn a_host_key_that_does_not_match_known_hosts_is_refused() {
    let env = common::env();
    let inventory =
        inventory_with(|inv| inv.ssh.known_hosts = Some(env.ssh.wrong_known_hosts.clone()));
    let ssh = SshClient::new(&inventory, &env.compute_host).unwrap();
    let err = ssh.run("true").await.unwrap_err();
    let Error::HostKey {
        fingerprint,
        reason,
        ..
    } = &err
    else {
        panic!("expected HostKey, got {err:?}");
    };
    assert!(fingerprint.starts_with("SHA256:"), "{fingerprint}");
    assert!(
        reason.contains("does not match") && reason.contains("wrong_known_hosts:1"),
        "{reason}"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn an_unknown_host_key_is_refused() {
    let env = common::env();
    let empty = tempfile::NamedTempFile::new().unwrap();
    let inventory = inventory_with(|inv| inv.ssh.known_hosts = Some(empty.path().to_owned()));
    let err = SshClient::new(&inventory, &env.compute_host)
        .unwrap()
        .run("true")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::HostKey { reason, .. } if reason.contains("no key for [127.0.0.1]:")),
        "{err}"
    );
}

#[tokio::test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
async fn pinned_host_keys_are_checked() {
    let env = common::env();
    let right = russh::keys::PublicKey::from_openssh(&env.ssh.host_public_key).unwrap();
    let ssh = SshClient::new(&common::inventory(), &env.compute_host).unwrap();
    let pinned = ssh
        .clone()
        .with_host_key_policy(HostKeyPolicy::Pinned(right));
    assert_eq!(pinned.run("echo ok").await.unwrap().stdout_text(), "ok\n");
    let wrong_line = std::fs::read_to_string(&env.ssh.wrong_known_hosts).unwrap();
    let wrong = wrong_line
        .split_whitespace()
        .skip(1)
        .collect::<Vec<_>>()
        .join(" ");
    let wrong = russh::keys::PublicKey::from_openssh(&wrong).unwrap();
    let err = ssh
        .with_host_key_policy(HostKeyPolicy::Pinned(wrong))
        .run("true")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::HostKey { reason, .. } if reason.contains("pinned")),
        "{err}"
    );
}

#[test]
#[ignore = "live: needs the whitebox hosts (scripts/whitebox.py up) and Nova (scripts/services.py up)"]
fn blocking_calls_work_from_plain_threads() {
    let ssh = common::whitebox().ssh(&common::env().compute_host).unwrap();
    let out = ssh.run_blocking("printf %s hello", None).unwrap();
    assert_eq!(out.stdout, b"hello");
    let err = ssh.run_blocking("exit 4", None).unwrap_err();
    assert!(
        matches!(
            err,
            Error::CommandFailed {
                status: Some(4),
                ..
            }
        ),
        "{err:?}"
    );
}
