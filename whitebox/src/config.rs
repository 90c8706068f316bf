//! Remote INI config files: read, set and delete options over SSH, with atomic writes and a
//! guard that restores the original file byte for byte and restarts the service when dropped.
//!
//! # Crash safety
//!
//! Before the guard lets anything write, it keeps a **journal** beside the file
//! (`<path>.squall-journal`): a JSON header line (owner, group, mode, the service's restart
//! command, the length) followed by the original bytes, written atomically. Restoring removes
//! the journal last. A test process killed mid-edit (SIGKILL, no `Drop`) leaves the journal
//! behind; the next whitebox run puts the file back from it and restarts the service:
//! [`RemoteConfig::guard`] does so for its own file before saving it, and
//! [`Whitebox::recover`](crate::Whitebox::recover) does so for every config file of the
//! inventory (call it once when a suite starts).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ini::IniDocument;
use crate::shell::quote;
use crate::ssh::SshClient;

/// The journal's suffix: `<path>.squall-journal` beside the guarded file.
pub const JOURNAL_SUFFIX: &str = ".squall-journal";

/// The journal of the file at `path`.
pub fn journal_path(path: &str) -> String {
    format!("{path}{JOURNAL_SUFFIX}")
}

/// The first line of a journal; the original bytes follow it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct JournalHeader {
    /// The format version (1).
    journal: u32,
    uid: u32,
    gid: u32,
    /// Octal permission bits, as `stat -c %a` prints them.
    mode: String,
    /// The service's restart command, run after restoring.
    restart: Option<String>,
    /// The length of the original bytes after the header line.
    length: usize,
}

/// The owner, group and mode of a file, as `stat -c '%u %g %a'` prints them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileMeta {
    /// The owner's uid.
    pub uid: u32,
    /// The group's gid.
    pub gid: u32,
    /// The octal permission bits (`640`).
    pub mode: String,
}

impl FileMeta {
    fn parse(text: &str) -> Option<Self> {
        let mut words = text.split_whitespace();
        let uid = words.next()?.parse().ok()?;
        let gid = words.next()?.parse().ok()?;
        let mode = words.next()?;
        let octal = !mode.is_empty() && mode.bytes().all(|b| (b'0'..=b'7').contains(&b));
        octal.then(|| Self {
            uid,
            gid,
            mode: mode.to_owned(),
        })
    }
}

fn encode_journal(header: &JournalHeader, original: &[u8]) -> Result<Vec<u8>> {
    let mut out = serde_json::to_vec(header).map_err(|e| Error::Inventory {
        path: "<journal>".to_owned(),
        reason: e.to_string(),
    })?;
    out.push(b'\n');
    out.extend_from_slice(original);
    Ok(out)
}

/// Splits a journal into its header and the original bytes; `None` when it is damaged (a
/// journal is written atomically, so only a foreign file looks like that).
fn decode_journal(bytes: &[u8]) -> Option<(JournalHeader, &[u8])> {
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let header: JournalHeader = serde_json::from_slice(&bytes[..newline]).ok()?;
    let body = &bytes[newline + 1..];
    (header.journal == 1 && body.len() == header.length).then_some((header, body))
}

/// One INI file on one host.
#[derive(Debug, Clone)]
pub struct RemoteConfig {
    ssh: SshClient,
    path: String,
    restart: Option<String>,
}

impl RemoteConfig {
    /// The file `path` on the host behind `ssh`; `restart` is the command the guard runs after
    /// restoring (the service's restart command), if any.
    pub fn new(ssh: SshClient, path: impl Into<String>, restart: Option<String>) -> Self {
        Self {
            ssh,
            path: path.into(),
            restart,
        }
    }

    /// The file's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn error(&self, section: &str, key: &str, reason: impl Into<String>) -> Error {
        Error::Config {
            host: self.ssh.host().to_owned(),
            path: self.path.clone(),
            section: section.to_owned(),
            key: key.to_owned(),
            reason: reason.into(),
        }
    }

    fn wrap(&self, section: &str, key: &str, e: Error) -> Error {
        self.error(section, key, e.to_string())
    }

    /// The file's bytes.
    pub async fn read_bytes(&self) -> Result<Vec<u8>> {
        self.ssh.read_file(&self.path).await
    }

    /// The file, parsed.
    pub async fn read(&self) -> Result<IniDocument> {
        let bytes = self.read_bytes().await.map_err(|e| self.wrap("", "", e))?;
        let text =
            String::from_utf8(bytes).map_err(|e| self.error("", "", format!("not UTF-8: {e}")))?;
        Ok(IniDocument::parse(&text))
    }

    /// The value of an option, `None` when absent.
    pub async fn get(&self, section: &str, key: &str) -> Result<Option<String>> {
        Ok(self.read().await?.get(section, key))
    }

    /// The value of an option, or an error naming the missing section or option.
    pub async fn require(&self, section: &str, key: &str) -> Result<String> {
        self.read()
            .await?
            .require(section, key)
            .map_err(|e| self.error(section, key, e.to_string()))
    }

    /// Sets an option (atomically replacing the file).
    pub async fn set(&self, section: &str, key: &str, value: &str) -> Result<()> {
        self.set_all(section, key, &[value]).await
    }

    /// Sets a multi-valued option, one line per value.
    pub async fn set_all(&self, section: &str, key: &str, values: &[&str]) -> Result<()> {
        let mut doc = self.read().await?;
        doc.set_all(section, key, values);
        tracing::info!(host = %self.ssh.host(), path = %self.path, %section, %key, ?values, "config set");
        self.ssh
            .write_file_atomic(&self.path, doc.render().as_bytes())
            .await
            .map_err(|e| self.wrap(section, key, e))
    }

    /// Deletes an option; returns whether it was there.
    pub async fn delete(&self, section: &str, key: &str) -> Result<bool> {
        let mut doc = self.read().await?;
        if !doc.delete(section, key) {
            return Ok(false);
        }
        tracing::info!(host = %self.ssh.host(), path = %self.path, %section, %key, "config delete");
        self.ssh
            .write_file_atomic(&self.path, doc.render().as_bytes())
            .await
            .map_err(|e| self.wrap(section, key, e))?;
        Ok(true)
    }

    /// The owner, group and mode of the file.
    pub async fn meta(&self) -> Result<FileMeta> {
        let command = self
            .ssh
            .maybe_sudo(&format!("stat -c '%u %g %a' -- {}", quote(&self.path)));
        let output = self
            .ssh
            .run(&command)
            .await
            .map_err(|e| self.wrap("", "", e))?;
        FileMeta::parse(&output.stdout_text()).ok_or_else(|| {
            self.error(
                "",
                "",
                format!("unreadable stat output {:?}", output.stdout_text()),
            )
        })
    }

    /// The journal beside this file.
    pub fn journal_path(&self) -> String {
        journal_path(&self.path)
    }

    /// Puts the file back from its journal, if one was left by a guard that never restored
    /// (its process was killed): the original bytes, owner, group and mode; then runs the
    /// restart command the journal names and removes the journal. Returns whether there was
    /// a journal.
    pub async fn recover(&self) -> Result<bool> {
        let journal = self.journal_path();
        let read = self.ssh.maybe_sudo(&format!(
            "sh -c {}",
            quote(&format!("[ ! -e {0} ] || cat -- {0}", quote(&journal)))
        ));
        let bytes = self
            .ssh
            .run(&read)
            .await
            .map_err(|e| self.wrap("", "", e))?
            .stdout;
        if bytes.is_empty() {
            return Ok(false);
        }
        let (header, original) = decode_journal(&bytes)
            .ok_or_else(|| self.error("", "", format!("damaged journal {journal}")))?;
        tracing::warn!(host = %self.ssh.host(), path = %self.path, "restoring a config file from the journal of a guard that never restored it");
        let meta = FileMeta {
            uid: header.uid,
            gid: header.gid,
            mode: header.mode.clone(),
        };
        self.put_back(original, &meta, header.restart.as_deref())?;
        Ok(true)
    }

    /// Writes `original` back with its owner and mode, runs `restart`, then removes the
    /// journal (last, so a crash in between leaves it for the next run). Blocking: it runs
    /// from `Drop` too.
    fn put_back(&self, original: &[u8], meta: &FileMeta, restart: Option<&str>) -> Result<()> {
        self.ssh
            .write_file_atomic_blocking(&self.path, original)
            .map_err(|e| self.wrap("", "", e))?;
        let path = quote(&self.path);
        let chown = format!(
            "chown {}:{} -- {path} 2>/dev/null || true; chmod {} -- {path}",
            meta.uid, meta.gid, meta.mode
        );
        self.ssh
            .run_blocking(
                &self.ssh.maybe_sudo(&format!("sh -c {}", quote(&chown))),
                None,
            )
            .map_err(|e| self.wrap("", "", e))?;
        if let Some(restart) = restart {
            self.ssh.run_blocking(restart, None)?;
        }
        let remove = format!("rm -f -- {}", quote(&self.journal_path()));
        self.ssh
            .run_blocking(&self.ssh.maybe_sudo(&remove), None)
            .map_err(|e| self.wrap("", "", e))?;
        Ok(())
    }

    /// Saves the file as it is now and returns a guard that puts it back (then restarts the
    /// service) when dropped, also when the test panics. A journal left by a killed process
    /// is restored first (see [`recover`](Self::recover)); then a new journal with the
    /// original bytes, owner and mode is written beside the file before the guard exists.
    pub async fn guard(&self) -> Result<ConfigGuard> {
        self.recover().await?;
        let original = self.read_bytes().await.map_err(|e| self.wrap("", "", e))?;
        let meta = self.meta().await?;
        let header = JournalHeader {
            journal: 1,
            uid: meta.uid,
            gid: meta.gid,
            mode: meta.mode.clone(),
            restart: self.restart.clone(),
            length: original.len(),
        };
        self.ssh
            .write_file_atomic(&self.journal_path(), &encode_journal(&header, &original)?)
            .await
            .map_err(|e| self.wrap("", "", e))?;
        Ok(ConfigGuard {
            config: self.clone(),
            original,
            meta,
            armed: true,
        })
    }
}

/// Restores a config file byte for byte, then restarts its service, when dropped.
///
/// `Drop` cannot be async, so the restore runs on the SSH client's own runtime thread while the
/// dropping thread waits: it works from async tests, from plain threads, and while unwinding
/// from a panic. Failures in `Drop` are logged (tracing `error`); call
/// [`ConfigGuard::restore`] to see them as a `Result`.
#[derive(Debug)]
pub struct ConfigGuard {
    config: RemoteConfig,
    original: Vec<u8>,
    meta: FileMeta,
    armed: bool,
}

impl ConfigGuard {
    /// The file's bytes when the guard was made.
    pub fn original(&self) -> &[u8] {
        &self.original
    }

    /// The guarded file.
    pub fn config(&self) -> &RemoteConfig {
        &self.config
    }

    /// Sets an option (see [`RemoteConfig::set`]).
    pub async fn set(&self, section: &str, key: &str, value: &str) -> Result<()> {
        self.config.set(section, key, value).await
    }

    /// Deletes an option (see [`RemoteConfig::delete`]).
    pub async fn delete(&self, section: &str, key: &str) -> Result<bool> {
        self.config.delete(section, key).await
    }

    /// Restores now and reports the outcome.
    pub fn restore(mut self) -> Result<()> {
        self.armed = false;
        self.restore_now()
    }

    /// The file's owner, group and mode when the guard was made.
    pub fn meta(&self) -> &FileMeta {
        &self.meta
    }

    fn restore_now(&self) -> Result<()> {
        let config = &self.config;
        tracing::info!(host = %config.ssh.host(), path = %config.path, "restoring config");
        config.put_back(&self.original, &self.meta, config.restart.as_deref())
    }
}

impl Drop for ConfigGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(e) = self.restore_now() {
            tracing::error!(error = %e, "config guard could not restore the file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_round_trips_and_damage_is_detected() {
        let header = JournalHeader {
            journal: 1,
            uid: 0,
            gid: 42,
            mode: "640".to_owned(),
            restart: Some("systemctl restart nova-compute".to_owned()),
            length: 5,
        };
        let bytes = encode_journal(&header, b"a\nb\xff\n").unwrap();
        let (read, original) = decode_journal(&bytes).unwrap();
        assert_eq!(read, header);
        assert_eq!(original, b"a\nb\xff\n");
        assert!(decode_journal(&bytes[..bytes.len() - 1]).is_none(), "short");
        assert!(
            decode_journal(b"[DEFAULT]\nx = 1\n").is_none(),
            "not a journal"
        );
    }

    #[test]
    fn stat_output_is_read_strictly() {
        assert_eq!(
            FileMeta::parse("0 42 640\n"),
            Some(FileMeta {
                uid: 0,
                gid: 42,
                mode: "640".to_owned()
            })
        );
        assert_eq!(FileMeta::parse("0 42 9x"), None);
        assert_eq!(FileMeta::parse("0 42"), None);
    }
}
