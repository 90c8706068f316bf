//! Remote INI config files: read, set and delete options over SSH, with atomic writes and a
//! guard that restores the original file byte for byte and restarts the service when dropped.

use crate::error::{Error, Result};
use crate::ini::IniDocument;
use crate::ssh::SshClient;

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

    /// Saves the file as it is now and returns a guard that puts it back (then restarts the
    /// service) when dropped, also when the test panics.
    pub async fn guard(&self) -> Result<ConfigGuard> {
        let original = self.read_bytes().await.map_err(|e| self.wrap("", "", e))?;
        Ok(ConfigGuard {
            config: self.clone(),
            original,
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

    fn restore_now(&self) -> Result<()> {
        let config = &self.config;
        tracing::info!(host = %config.ssh.host(), path = %config.path, "restoring config");
        config
            .ssh
            .write_file_atomic_blocking(&config.path, &self.original)
            .map_err(|e| config.wrap("", "", e))?;
        if let Some(restart) = &config.restart {
            config.ssh.run_blocking(restart, None)?;
        }
        Ok(())
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
