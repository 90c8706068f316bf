//! Secrets (tokens, passwords) that never show in logs or debug output.

use std::fmt;
use std::sync::Arc;

/// A secret string (token, password). Its `Debug` and `Display` never show the value.
/// Cloning it (a cached token handed to every call) shares the text instead of copying it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into())
    }

    /// The secret itself; use only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}
