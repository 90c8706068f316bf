//! The errors of the whitebox clients. Each names what it was doing and where: the host, the
//! command with its exit status and stderr, the file and key, the XML element.

use std::time::Duration;

/// A whitebox failure.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The inventory file could not be read or is invalid.
    #[error("inventory {path}: {reason}")]
    Inventory {
        /// The inventory file (or `<inline>`).
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A host that the inventory does not list.
    #[error("host {host:?} is not in the inventory (known hosts: {known})")]
    UnknownHost {
        /// The host asked for.
        host: String,
        /// The hosts the inventory lists.
        known: String,
    },
    /// A service that the host's inventory entry does not list.
    #[error(
        "host {host}: no service section {service:?} in the inventory (known services: {known})"
    )]
    UnknownService {
        /// The host.
        host: String,
        /// The service asked for.
        service: String,
        /// The services the host lists.
        known: String,
    },
    /// The inventory entry lacks something an operation needs.
    #[error("host {host}: service {service}: no {what} configured in the inventory")]
    MissingSetting {
        /// The host.
        host: String,
        /// The service.
        service: String,
        /// The missing setting, e.g. `config_path`.
        what: &'static str,
    },
    /// The TCP connection or the SSH handshake failed.
    #[error("ssh {host} ({address}): cannot connect: {reason}")]
    Connect {
        /// The inventory host.
        host: String,
        /// `address:port`.
        address: String,
        /// Why.
        reason: String,
    },
    /// The server's host key is not the expected one.
    #[error("ssh {host} ({address}): host key {fingerprint} rejected: {reason}")]
    HostKey {
        /// The inventory host.
        host: String,
        /// `address:port`.
        address: String,
        /// SHA256 fingerprint of the key the server presented.
        fingerprint: String,
        /// Why it was rejected (mismatch with known_hosts line N, not pinned, unknown).
        reason: String,
    },
    /// The server refused the user's key.
    #[error("ssh {host}: authentication as {user} with key {key} failed: {reason}")]
    Auth {
        /// The inventory host.
        host: String,
        /// The SSH user.
        user: String,
        /// The private key file.
        key: String,
        /// Why.
        reason: String,
    },
    /// An SSH protocol or channel error while running a command.
    #[error("ssh {host}: `{command}`: {reason}")]
    Channel {
        /// The inventory host.
        host: String,
        /// The command.
        command: String,
        /// What went wrong.
        reason: String,
    },
    /// A command exited with a non-zero status (or was killed by a signal).
    #[error("ssh {host}: `{command}` failed with exit status {}: {}", status.map_or_else(|| "none (signal or closed channel)".to_owned(), |s| s.to_string()), stderr.trim_end())]
    CommandFailed {
        /// The inventory host.
        host: String,
        /// The command as sent.
        command: String,
        /// The exit status, if the server reported one.
        status: Option<u32>,
        /// What the command wrote to stdout.
        stdout: String,
        /// What the command wrote to stderr.
        stderr: String,
    },
    /// A command did not finish in time.
    #[error("ssh {host}: `{command}` timed out after {timeout:?}")]
    Timeout {
        /// The inventory host.
        host: String,
        /// The command.
        command: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// libvirt XML that cannot be parsed or lacks what is expected.
    #[error("libvirt XML of {source_name}: element <{element}>: {reason}")]
    Xml {
        /// What the XML describes (domain name, `capabilities`).
        source_name: String,
        /// The element (path) concerned.
        element: String,
        /// What is wrong.
        reason: String,
    },
    /// Output of a command that cannot be understood.
    #[error("host {host}: unexpected output of `{command}`: {reason}")]
    Output {
        /// The host.
        host: String,
        /// The command.
        command: String,
        /// What is wrong.
        reason: String,
    },
    /// A database failure.
    #[error("database {target}: {context}: {source}")]
    Database {
        /// `user@host:port/database`, with the tunnel if any.
        target: String,
        /// What was being done (the query).
        context: String,
        /// The driver's error.
        #[source]
        source: Box<mysql_async::Error>,
    },
    /// A database value that cannot be decoded into the typed helper.
    #[error("database {target}: {table}.{column}: {reason}")]
    DatabaseValue {
        /// The database.
        target: String,
        /// The table.
        table: &'static str,
        /// The column.
        column: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A config file operation failed.
    #[error("config {host}:{path}{}: {reason}", option_label(section, key))]
    Config {
        /// The host.
        host: String,
        /// The file.
        path: String,
        /// The section.
        section: String,
        /// The option (empty for whole-file failures).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A compute API call failed.
    #[error("compute API: {context}: {source}")]
    Api {
        /// What was being done.
        context: String,
        /// The runtime's error.
        #[source]
        source: Box<squall_runtime::Error>,
    },
    /// The compute API did not show an attribute the whitebox needs (not an admin, or the
    /// server is not on a host yet).
    #[error("server {server_id}: the compute API shows no {attribute} (admin credentials needed)")]
    MissingAttribute {
        /// The server.
        server_id: String,
        /// The attribute.
        attribute: &'static str,
    },
    /// The CPU pinning check failed.
    #[error(transparent)]
    Pinning(#[from] crate::pinning::PinningError),
    /// A condition was not reached in time.
    #[error("{what}: not {wanted} after {timeout:?} (last seen: {last})")]
    WaitTimeout {
        /// What was waited for.
        what: String,
        /// The state wanted.
        wanted: String,
        /// The time allowed.
        timeout: Duration,
        /// The last state seen.
        last: String,
    },
    /// A local I/O failure (runtime start, listener, file).
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

fn option_label(section: &str, key: &str) -> String {
    match (section.is_empty(), key.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" [{section}]"),
        _ => format!(" [{section}] {key}"),
    }
}

/// The whitebox result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
