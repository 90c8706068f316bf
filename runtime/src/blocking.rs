//! A blocking facade: run the async clients from plain synchronous code.

use std::future::Future;
use std::sync::Arc;

/// A small Tokio runtime owned by blocking clients; cheap to clone and share.
#[derive(Debug, Clone)]
pub struct BlockingRuntime {
    runtime: Arc<tokio::runtime::Runtime>,
}

impl BlockingRuntime {
    /// Builds a current-thread runtime with I/O and timers enabled.
    pub fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Arc::new(runtime),
        })
    }

    /// Runs a future to completion on this runtime. Do not call from inside an async context.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }
}
