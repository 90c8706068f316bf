//! SSH exec: one connection per host, reused by every command, with timeouts and host key
//! checking.
//!
//! Each [`SshClient`] keeps one authenticated SSH connection to its host and opens a channel per
//! command on it; a dropped connection is re-established on the next command. The connection
//! lives on a small dedicated tokio runtime owned by the client, so the same connection serves
//! async callers (any runtime) and the blocking calls that a `Drop` needs (see
//! [`crate::config::ConfigGuard`]).

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};

use crate::error::{Error, Result};
use crate::inventory::Inventory;
use crate::shell;

/// How a host's key is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum HostKeyPolicy {
    /// The key must be recorded for `[address]:port` in this known_hosts file (the default,
    /// with `~/.ssh/known_hosts`).
    KnownHosts(PathBuf),
    /// The key must be exactly this one.
    Pinned(PublicKey),
    /// Any key is accepted. Opt-in only; every connection logs a warning.
    AcceptAny,
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    /// The exit status, when the server reported one.
    pub status: Option<u32>,
    /// Standard output, as bytes.
    pub stdout: Vec<u8>,
    /// Standard error, as bytes.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A dedicated runtime thread for SSH sessions; shut down in the background when dropped, so
/// dropping it inside an async context never panics.
#[derive(Debug)]
pub(crate) struct Executor {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Executor {
    pub(crate) fn new() -> Result<Arc<Self>> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("squall-whitebox-ssh")
            .enable_all()
            .build()
            .map_err(|source| Error::Io {
                context: "starting the SSH runtime".to_owned(),
                source,
            })?;
        Ok(Arc::new(Self {
            runtime: Some(runtime),
        }))
    }

    fn handle(&self) -> Option<tokio::runtime::Handle> {
        self.runtime.as_ref().map(|r| r.handle().clone())
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// An SSH connection to one inventory host, shared by clones.
#[derive(Debug, Clone)]
pub struct SshClient {
    inner: Arc<Inner>,
    executor: Arc<Executor>,
}

struct Inner {
    host: String,
    address: String,
    port: u16,
    user: String,
    key: PathBuf,
    policy: HostKeyPolicy,
    sudo: bool,
    connect_timeout: Duration,
    command_timeout: Duration,
    session: tokio::sync::Mutex<Option<Arc<Handle<Checker>>>>,
    connections: AtomicUsize,
}

impl SshClient {
    /// A client for inventory host `host`. Nothing connects until the first command.
    pub fn new(inventory: &Inventory, host: &str) -> Result<Self> {
        Self::with_executor(inventory, host, Executor::new()?)
    }

    pub(crate) fn with_executor(
        inventory: &Inventory,
        host: &str,
        executor: Arc<Executor>,
    ) -> Result<Self> {
        let node = inventory.node(host)?;
        let ssh = &inventory.ssh;
        let policy = if let Some(key) = &node.host_key {
            HostKeyPolicy::Pinned(PublicKey::from_openssh(key).map_err(|e| Error::Inventory {
                path: "<inventory>".to_owned(),
                reason: format!("nodes.{host}.host_key: {e}"),
            })?)
        } else if ssh.insecure_accept_any_host_key {
            HostKeyPolicy::AcceptAny
        } else if let Some(path) = &ssh.known_hosts {
            HostKeyPolicy::KnownHosts(path.clone())
        } else {
            let home = std::env::var_os("HOME").ok_or_else(|| Error::Inventory {
                path: "<inventory>".to_owned(),
                reason: "ssh.known_hosts is not set and $HOME is unknown".to_owned(),
            })?;
            HostKeyPolicy::KnownHosts(PathBuf::from(home).join(".ssh/known_hosts"))
        };
        Ok(Self {
            inner: Arc::new(Inner {
                host: host.to_owned(),
                address: node.address.clone(),
                port: node.port.unwrap_or(ssh.port),
                user: ssh.user.clone(),
                key: ssh.key.clone(),
                policy,
                sudo: inventory.sudo,
                connect_timeout: ssh.connect_timeout(),
                command_timeout: ssh.command_timeout(),
                session: tokio::sync::Mutex::new(None),
                connections: AtomicUsize::new(0),
            }),
            executor,
        })
    }

    /// Replaces the host key policy (e.g. to pin a key in a test). Drops the connection.
    pub fn with_host_key_policy(self, policy: HostKeyPolicy) -> Self {
        let inner = &self.inner;
        Self {
            inner: Arc::new(Inner {
                host: inner.host.clone(),
                address: inner.address.clone(),
                port: inner.port,
                user: inner.user.clone(),
                key: inner.key.clone(),
                policy,
                sudo: inner.sudo,
                connect_timeout: inner.connect_timeout,
                command_timeout: inner.command_timeout,
                session: tokio::sync::Mutex::new(None),
                connections: AtomicUsize::new(0),
            }),
            executor: self.executor.clone(),
        }
    }

    /// The inventory host name.
    pub fn host(&self) -> &str {
        &self.inner.host
    }

    /// How many SSH connections this client has opened so far (1 while the first one lives).
    pub fn connections_opened(&self) -> usize {
        self.inner.connections.load(Ordering::Relaxed)
    }

    /// Whether commands are wrapped in `sudo -n` (file helpers and service commands).
    pub fn sudo(&self) -> bool {
        self.inner.sudo
    }

    /// Runs `command`; a non-zero exit is *not* an error here (see [`SshClient::run`]).
    pub async fn exec(&self, command: &str) -> Result<Output> {
        self.exec_with(command, None, None).await
    }

    /// Runs `command` and fails with [`Error::CommandFailed`] (exit status and stderr) unless it
    /// exits with 0.
    pub async fn run(&self, command: &str) -> Result<Output> {
        let output = self.exec(command).await?;
        self.check(command, output)
    }

    /// Runs `command` with `stdin` fed to it (then closed) and a timeout (the inventory's
    /// default when `None`); a non-zero exit is not an error here.
    pub async fn exec_with(
        &self,
        command: &str,
        stdin: Option<Vec<u8>>,
        timeout: Option<Duration>,
    ) -> Result<Output> {
        let inner = self.inner.clone();
        let command_owned = command.to_owned();
        let timeout = timeout.unwrap_or(inner.command_timeout);
        self.on_runtime(command, exec_on(inner, command_owned, stdin, timeout))
            .await
    }

    /// [`SshClient::run`] from synchronous code (also inside an async context, e.g. in `Drop`):
    /// blocks the calling thread while the SSH runtime does the work.
    pub fn run_blocking(&self, command: &str, stdin: Option<Vec<u8>>) -> Result<Output> {
        let inner = self.inner.clone();
        let timeout = inner.command_timeout;
        let output =
            self.on_runtime_blocking(command, exec_on(inner, command.to_owned(), stdin, timeout))?;
        self.check(command, output)
    }

    /// Reads a remote file, byte for byte.
    pub async fn read_file(&self, path: &str) -> Result<Vec<u8>> {
        Ok(self.run(&self.read_command(path)).await?.stdout)
    }

    /// [`SshClient::read_file`] from synchronous code.
    pub fn read_file_blocking(&self, path: &str) -> Result<Vec<u8>> {
        Ok(self.run_blocking(&self.read_command(path), None)?.stdout)
    }

    /// Replaces a remote file atomically: the bytes go to a temporary file in the same folder,
    /// which takes the old file's mode and owner and is then renamed over it.
    pub async fn write_file_atomic(&self, path: &str, contents: &[u8]) -> Result<()> {
        let command = self.write_command(path);
        let output = self
            .exec_with(&command, Some(contents.to_vec()), None)
            .await?;
        self.check(&command, output).map(drop)
    }

    /// [`SshClient::write_file_atomic`] from synchronous code.
    pub fn write_file_atomic_blocking(&self, path: &str, contents: &[u8]) -> Result<()> {
        self.run_blocking(&self.write_command(path), Some(contents.to_vec()))
            .map(drop)
    }

    /// Opens a local TCP port that forwards every connection through this host's SSH
    /// connection (a `direct-tcpip` channel) to `remote_host:remote_port` as seen from the host.
    pub async fn tunnel(&self, remote_host: &str, remote_port: u16) -> Result<Tunnel> {
        let inner = self.inner.clone();
        let remote = remote_host.to_owned();
        let what = format!("tunnel to {remote_host}:{remote_port}");
        self.on_runtime(&what, open_tunnel(inner, remote, remote_port))
            .await
    }

    /// Closes the connection (the next command opens a new one).
    pub async fn disconnect(&self) {
        let inner = self.inner.clone();
        let _ = self
            .on_runtime("disconnect", async move {
                if let Some(session) = inner.session.lock().await.take() {
                    let _ = session
                        .disconnect(Disconnect::ByApplication, "", "en")
                        .await;
                }
                Ok(())
            })
            .await;
    }

    fn read_command(&self, path: &str) -> String {
        self.maybe_sudo(&format!("cat -- {}", shell::quote(path)))
    }

    fn write_command(&self, path: &str) -> String {
        let script = format!(
            "set -e; p={}; t=$(mktemp \"$(dirname -- \"$p\")/.squall-XXXXXX\"); \
             trap 'rm -f -- \"$t\"' EXIT; cat > \"$t\"; \
             if [ -e \"$p\" ]; then chmod --reference=\"$p\" -- \"$t\"; \
             chown --reference=\"$p\" -- \"$t\" 2>/dev/null || true; fi; \
             mv -f -- \"$t\" \"$p\"; trap - EXIT",
            shell::quote(path)
        );
        self.maybe_sudo(&format!("sh -c {}", shell::quote(&script)))
    }

    pub(crate) fn maybe_sudo(&self, command: &str) -> String {
        if self.inner.sudo {
            format!("sudo -n {command}")
        } else {
            command.to_owned()
        }
    }

    fn check(&self, command: &str, output: Output) -> Result<Output> {
        if output.success() {
            Ok(output)
        } else {
            Err(Error::CommandFailed {
                host: self.inner.host.clone(),
                command: command.to_owned(),
                status: output.status,
                stdout: output.stdout_text(),
                stderr: output.stderr_text(),
            })
        }
    }

    fn runtime_gone(&self, command: &str) -> Error {
        Error::Channel {
            host: self.inner.host.clone(),
            command: command.to_owned(),
            reason: "the SSH runtime has shut down".to_owned(),
        }
    }

    async fn on_runtime<T, F>(&self, command: &str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let handle = self
            .executor
            .handle()
            .ok_or_else(|| self.runtime_gone(command))?;
        handle.spawn(work).await.map_err(|e| Error::Channel {
            host: self.inner.host.clone(),
            command: command.to_owned(),
            reason: format!("SSH task failed: {e}"),
        })?
    }

    fn on_runtime_blocking<T, F>(&self, command: &str, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let handle = self
            .executor
            .handle()
            .ok_or_else(|| self.runtime_gone(command))?;
        let (sender, receiver) = std::sync::mpsc::channel();
        handle.spawn(async move {
            let _ = sender.send(work.await);
        });
        receiver.recv().map_err(|_| self.runtime_gone(command))?
    }
}

/// A local port forwarded through SSH; forwarding stops when this is dropped.
#[derive(Debug)]
pub struct Tunnel {
    local: SocketAddr,
    task: tokio::task::JoinHandle<()>,
    forwarded: Arc<AtomicUsize>,
}

impl Tunnel {
    /// The local address to connect to.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// How many connections have been forwarded through SSH so far.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::Relaxed)
    }
}

impl Drop for Tunnel {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("host", &self.host)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// Checks the server's host key against the policy, remembering why it rejected one.
struct Checker {
    address: String,
    port: u16,
    policy: HostKeyPolicy,
    rejected: Arc<StdMutex<Option<(String, String)>>>,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                self.reject(
                    "(certificate)".to_owned(),
                    "host certificates are not supported",
                );
                return Ok(false);
            }
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        let verdict = match &self.policy {
            HostKeyPolicy::AcceptAny => {
                tracing::warn!(address = %self.address, port = self.port, %fingerprint,
                    "accepting an unchecked SSH host key (insecure_accept_any_host_key)");
                Ok(())
            }
            HostKeyPolicy::Pinned(pinned) if pinned.key_data() == key.key_data() => Ok(()),
            HostKeyPolicy::Pinned(pinned) => Err(format!(
                "does not match the pinned key {}",
                pinned.fingerprint(HashAlg::Sha256)
            )),
            HostKeyPolicy::KnownHosts(path) => {
                match russh::keys::check_known_hosts_path(&self.address, self.port, key, path) {
                    Ok(true) => Ok(()),
                    Ok(false) => Err(format!(
                        "no key for {} in {}",
                        known_hosts_name(&self.address, self.port),
                        path.display()
                    )),
                    Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                        "does not match the key recorded in {}:{line} (possible man-in-the-middle)",
                        path.display()
                    )),
                    Err(e) => Err(format!("cannot check {}: {e}", path.display())),
                }
            }
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(reason) => {
                self.reject(fingerprint, &reason);
                Ok(false)
            }
        }
    }
}

impl Checker {
    fn reject(&self, fingerprint: String, reason: &str) {
        if let Ok(mut slot) = self.rejected.lock() {
            *slot = Some((fingerprint, reason.to_owned()));
        }
    }
}

fn known_hosts_name(address: &str, port: u16) -> String {
    if port == 22 {
        address.to_owned()
    } else {
        format!("[{address}]:{port}")
    }
}

async fn session(inner: &Arc<Inner>) -> Result<Arc<Handle<Checker>>> {
    let mut slot = inner.session.lock().await;
    if let Some(session) = slot.as_ref() {
        if !session.is_closed() {
            return Ok(session.clone());
        }
        tracing::info!(host = %inner.host, "SSH connection closed; reconnecting");
    }
    let address = format!("{}:{}", inner.address, inner.port);
    let session = tokio::time::timeout(inner.connect_timeout, connect(inner))
        .await
        .map_err(|_| Error::Connect {
            host: inner.host.clone(),
            address: address.clone(),
            reason: format!("timed out after {:?}", inner.connect_timeout),
        })??;
    let session = Arc::new(session);
    *slot = Some(session.clone());
    inner.connections.fetch_add(1, Ordering::Relaxed);
    Ok(session)
}

async fn connect(inner: &Inner) -> Result<Handle<Checker>> {
    let address = format!("{}:{}", inner.address, inner.port);
    let auth_error = |reason: String| Error::Auth {
        host: inner.host.clone(),
        user: inner.user.clone(),
        key: inner.key.display().to_string(),
        reason,
    };
    let key = russh::keys::load_secret_key(&inner.key, None)
        .map_err(|e| auth_error(format!("cannot load the private key: {e}")))?;
    let rejected = Arc::new(StdMutex::new(None));
    let checker = Checker {
        address: inner.address.clone(),
        port: inner.port,
        policy: inner.policy.clone(),
        rejected: rejected.clone(),
    };
    let config = Arc::new(client::Config {
        keepalive_interval: Some(Duration::from_secs(30)),
        // Commands are small request/response exchanges: without this, Nagle's algorithm and
        // delayed ACKs add tens of milliseconds to every round trip.
        nodelay: true,
        ..Default::default()
    });
    tracing::debug!(host = %inner.host, %address, user = %inner.user, "opening SSH connection");
    let mut handle =
        match client::connect(config, (inner.address.as_str(), inner.port), checker).await {
            Ok(handle) => handle,
            Err(e) => {
                let rejection = rejected.lock().ok().and_then(|mut r| r.take());
                return Err(match rejection {
                    Some((fingerprint, reason)) => Error::HostKey {
                        host: inner.host.clone(),
                        address,
                        fingerprint,
                        reason,
                    },
                    None => Error::Connect {
                        host: inner.host.clone(),
                        address,
                        reason: e.to_string(),
                    },
                });
            }
        };
    let result = handle
        .authenticate_publickey(
            inner.user.clone(),
            PrivateKeyWithHashAlg::new(Arc::new(key), None),
        )
        .await
        .map_err(|e| auth_error(e.to_string()))?;
    if !result.success() {
        return Err(auth_error("the server refused the key".to_owned()));
    }
    Ok(handle)
}

async fn exec_on(
    inner: Arc<Inner>,
    command: String,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
) -> Result<Output> {
    let channel_error = |reason: String| Error::Channel {
        host: inner.host.clone(),
        command: command.clone(),
        reason,
    };
    let session = session(&inner).await?;
    let work = async {
        let mut channel = session
            .channel_open_session()
            .await
            .map_err(|e| channel_error(format!("cannot open a channel: {e}")))?;
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|e| channel_error(format!("exec request failed: {e}")))?;
        if let Some(data) = &stdin {
            channel
                .data(&data[..])
                .await
                .map_err(|e| channel_error(format!("sending stdin failed: {e}")))?;
        }
        channel
            .eof()
            .await
            .map_err(|e| channel_error(format!("closing stdin failed: {e}")))?;
        let mut output = Output {
            status: None,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => output.status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => output
                    .stderr
                    .extend_from_slice(format!("[killed by signal {signal_name:?}]").as_bytes()),
                _ => {}
            }
        }
        Ok::<Output, Error>(output)
    };
    tracing::debug!(host = %inner.host, %command, "ssh exec");
    let output = tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Error::Timeout {
            host: inner.host.clone(),
            command: command.clone(),
            timeout,
        })??;
    tracing::debug!(host = %inner.host, %command, status = ?output.status, "ssh exec done");
    Ok(output)
}

async fn open_tunnel(inner: Arc<Inner>, remote: String, remote_port: u16) -> Result<Tunnel> {
    session(&inner).await?;
    let io_error = |source| Error::Io {
        context: format!("ssh {}: local end of the tunnel", inner.host),
        source,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(io_error)?;
    let local = listener.local_addr().map_err(io_error)?;
    tracing::debug!(host = %inner.host, %local, %remote, remote_port, "SSH tunnel open");
    let forwarded = Arc::new(AtomicUsize::new(0));
    let counter = forwarded.clone();
    let task = tokio::spawn(async move {
        loop {
            let (mut socket, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(host = %inner.host, error = %e, "tunnel accept failed");
                    continue;
                }
            };
            let inner = inner.clone();
            let remote = remote.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let channel = match session(&inner).await {
                    Ok(session) => {
                        session
                            .channel_open_direct_tcpip(
                                remote.clone(),
                                u32::from(remote_port),
                                peer.ip().to_string(),
                                u32::from(peer.port()),
                            )
                            .await
                    }
                    Err(e) => {
                        tracing::warn!(host = %inner.host, error = %e, "tunnel: no SSH session");
                        return;
                    }
                };
                match channel {
                    Ok(channel) => {
                        counter.fetch_add(1, Ordering::Relaxed);
                        let mut stream = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
                    }
                    Err(e) => tracing::warn!(host = %inner.host, %remote, remote_port,
                        error = %e, "tunnel: direct-tcpip channel refused"),
                }
            });
        }
    });
    Ok(Tunnel {
        local,
        task,
        forwarded,
    })
}
