//! Cleanups a test registers as it creates things; they run in reverse order after the test,
//! also when it failed or panicked. A cleanup's error is reported beside the test's own
//! failure, never instead of it.
//!
//! In a [`Suite`](crate::Suite), `ctx.cleanups()` is the test's stack and the harness runs it.
//! A plain `#[tokio::test]` wraps its body in [`guarded`]:
//!
//! ```no_run
//! use squall_testing::{TestResult, cleanup::guarded};
//!
//! #[tokio::test]
//! async fn creates_and_cleans_up() -> TestResult {
//!     guarded(|cleanups| async move {
//!         cleanups.add("say goodbye", async { println!("bye"); Ok(()) });
//!         Ok(())
//!     })
//!     .await
//! }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use squall_runtime::{Error, Waiter};

use crate::suite::{TestError, TestResult};

type CleanupFuture = Pin<Box<dyn Future<Output = Result<(), TestError>> + Send>>;

/// One cleanup that failed: its name and its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupFailure {
    /// The name it was registered with.
    pub name: String,
    /// What went wrong.
    pub error: String,
}

impl fmt::Display for CleanupFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cleanup {:?} failed: {}", self.name, self.error)
    }
}

/// A test's cleanup stack; clones share it.
#[derive(Clone, Default)]
pub struct Cleanups {
    stack: Arc<Mutex<Vec<(String, CleanupFuture)>>>,
}

impl fmt::Debug for Cleanups {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self
            .stack
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(n, _)| n.clone())
            .collect();
        f.debug_struct("Cleanups").field("pending", &names).finish()
    }
}

impl Cleanups {
    /// An empty stack.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `cleanup` (a future: nothing runs until the stack is run) under `name`.
    pub fn add<F, E>(&self, name: impl Into<String>, cleanup: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<TestError>,
    {
        let future: CleanupFuture = Box::pin(async move { cleanup.await.map_err(Into::into) });
        self.stack
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name.into(), future));
    }

    /// Registers a deletion followed by a wait until `show` answers 404, so the resource is
    /// really gone before the next cleanup runs (a delete answered 404 counts as done).
    pub fn add_delete<D, S, SF, T>(
        &self,
        name: impl Into<String>,
        waiter: Waiter,
        delete: D,
        show: S,
    ) where
        D: Future<Output = Result<(), Error>> + Send + 'static,
        S: FnMut() -> SF + Send + 'static,
        SF: Future<Output = Result<T, Error>> + Send,
        T: Send,
    {
        let name = name.into();
        let resource = name.clone();
        self.add(name, async move {
            match delete.await {
                Ok(()) => {}
                Err(e) if e.http_kind() == Some(squall_runtime::HttpErrorKind::NotFound) => {}
                Err(e) => return Err(TestError::from(e)),
            }
            waiter
                .wait_for_resource_deletion(&resource, show)
                .await
                .map(|_| ())
                .map_err(TestError::from)
        });
    }

    /// How many cleanups are pending.
    pub fn len(&self) -> usize {
        self.stack
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether none is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs every pending cleanup, newest first; a failing or panicking one does not stop the
    /// others. Returns the failures.
    pub async fn run(&self) -> Vec<CleanupFailure> {
        let mut failures = Vec::new();
        loop {
            // A cleanup may register more; take one at a time.
            let next = self
                .stack
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let Some((name, future)) = next else {
                break;
            };
            tracing::debug!(cleanup = %name, "running cleanup");
            let error = match tokio::spawn(future).await {
                Ok(Ok(())) => continue,
                Ok(Err(error)) => error.to_string(),
                Err(join) => format!("panicked: {}", join_message(join)),
            };
            tracing::warn!(cleanup = %name, %error, "cleanup failed");
            failures.push(CleanupFailure { name, error });
        }
        failures
    }
}

/// The test's outcome with its cleanup failures: the test's own error comes first, then every
/// cleanup failure; a passing test with a failed cleanup fails.
pub fn combine(outcome: TestResult, failures: &[CleanupFailure]) -> TestResult {
    if failures.is_empty() {
        return outcome;
    }
    let listed: Vec<String> = failures.iter().map(ToString::to_string).collect();
    let listed = listed.join("\n");
    match outcome {
        Ok(()) => Err(listed.into()),
        Err(error) => Err(format!("{error}\nand then:\n{listed}").into()),
    }
}

/// Runs `body` with a fresh cleanup stack, then the stack (also after a failure or a panic,
/// which becomes the error), and returns [`combine`]d result.
pub async fn guarded<F, Fut>(body: F) -> TestResult
where
    F: FnOnce(Cleanups) -> Fut,
    Fut: Future<Output = TestResult> + Send + 'static,
{
    let cleanups = Cleanups::new();
    let outcome = match tokio::spawn(body(cleanups.clone())).await {
        Ok(result) => result,
        Err(join) => Err(format!("test panicked: {}", join_message(join)).into()),
    };
    let failures = cleanups.run().await;
    combine(outcome, &failures)
}

pub(crate) fn join_message(join: tokio::task::JoinError) -> String {
    if !join.is_panic() {
        return join.to_string();
    }
    let panic = join.into_panic();
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_owned())
}

/// How long [`Cleanups::add_delete`] waits by default, when a test has no `ServiceClients`
/// waiter at hand: Tempest's build interval and timeout.
pub fn default_waiter() -> Waiter {
    Waiter::new(Duration::from_secs(1), Duration::from_secs(300))
}
