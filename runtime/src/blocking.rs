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

/// Any generated client, blocking: one generic wrapper instead of a second copy of every
/// method. `Blocking::new(keypairs, runtime)?.run(|c| c.list_keypairs(None))`.
#[derive(Debug, Clone)]
pub struct Blocking<C> {
    client: C,
    runtime: BlockingRuntime,
}

impl<C> Blocking<C> {
    /// Wraps an async client and the runtime that drives it.
    pub fn new(client: C, runtime: BlockingRuntime) -> Self {
        Self { client, runtime }
    }

    /// The async client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// Runs one call of the client to completion.
    pub fn run<'a, F: Future>(&'a self, call: impl FnOnce(&'a C) -> F) -> F::Output {
        self.runtime.block_on(call(&self.client))
    }
}
