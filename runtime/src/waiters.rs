//! Waiters, like Tempest's `wait_for_resource_deletion` and `wait_for_resource_activation`:
//! poll every build interval until the resource is gone or active, bounded by the build
//! timeout. A timeout reports the time elapsed and the last state seen.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::error::{Error, HttpErrorKind};

/// Tempest's default `build_interval`.
pub const DEFAULT_BUILD_INTERVAL: Duration = Duration::from_secs(1);
/// Tempest's default `build_timeout`.
pub const DEFAULT_BUILD_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a wait ended without success.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// The build timeout passed.
    #[error(
        "{resource} did not become {goal} within the build timeout of {timeout:?} ({elapsed:.1?} elapsed, {polls} polls, last state: {last_state})"
    )]
    Timeout {
        /// What was waited for.
        resource: String,
        /// `deleted` or `active`.
        goal: &'static str,
        /// The build timeout.
        timeout: Duration,
        /// Time spent waiting.
        elapsed: Duration,
        /// How many times the resource was polled.
        polls: u32,
        /// The last state seen.
        last_state: String,
    },
    /// The resource reached a failure state.
    #[error(
        "{resource} went to {state} while waiting for it to become {goal} ({elapsed:.1?} elapsed)"
    )]
    Failed {
        /// What was waited for.
        resource: String,
        /// `active`.
        goal: &'static str,
        /// The failure state.
        state: String,
        /// Time spent waiting.
        elapsed: Duration,
    },
    /// A poll failed.
    #[error("polling {resource} failed after {elapsed:.1?}: {source}")]
    Poll {
        /// What was waited for.
        resource: String,
        /// Time spent waiting.
        elapsed: Duration,
        /// The call's error.
        #[source]
        source: Box<Error>,
    },
}

impl WaitError {
    /// The time spent before the wait ended.
    pub fn elapsed(&self) -> Duration {
        match self {
            Self::Timeout { elapsed, .. }
            | Self::Failed { elapsed, .. }
            | Self::Poll { elapsed, .. } => *elapsed,
        }
    }
}

/// What one poll of an activation saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// The resource is active: done.
    Done,
    /// Not there yet; the state seen.
    Waiting(String),
    /// A failure state: give up.
    Failed(String),
}

/// Polls at `interval` until `timeout`; build it from
/// [`ServiceClients::waiter`](crate::clients::ServiceClients::waiter) to share the configured
/// build interval and timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiter {
    /// Time between polls.
    pub interval: Duration,
    /// Time after which waiting fails.
    pub timeout: Duration,
}

impl Default for Waiter {
    fn default() -> Self {
        Self {
            interval: DEFAULT_BUILD_INTERVAL,
            timeout: DEFAULT_BUILD_TIMEOUT,
        }
    }
}

impl Waiter {
    /// A waiter with this interval and timeout.
    pub fn new(interval: Duration, timeout: Duration) -> Self {
        Self { interval, timeout }
    }

    /// Waits until `show` answers 404 (NotFound), as Tempest's `wait_for_resource_deletion`.
    /// Any other error ends the wait.
    pub async fn wait_for_resource_deletion<T, F, Fut>(
        &self,
        resource: &str,
        mut show: F,
    ) -> Result<Duration, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.poll(resource, "deleted", || {
            let call = show();
            async move {
                match call.await {
                    Ok(_) => Ok(Progress::Waiting("still present".to_owned())),
                    Err(e) if e.http_kind() == Some(HttpErrorKind::NotFound) => Ok(Progress::Done),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }

    /// Waits until `check` says [`Progress::Done`], as Tempest's
    /// `wait_for_resource_activation`; [`Progress::Failed`] ends the wait at once.
    pub async fn wait_for_resource_activation<F, Fut>(
        &self,
        resource: &str,
        check: F,
    ) -> Result<Duration, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Progress, Error>>,
    {
        self.poll(resource, "active", check).await
    }

    async fn poll<F, Fut>(
        &self,
        resource: &str,
        goal: &'static str,
        mut check: F,
    ) -> Result<Duration, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Progress, Error>>,
    {
        let started = Instant::now();
        let mut polls = 0;
        loop {
            polls += 1;
            let state = check().await.map_err(|source| WaitError::Poll {
                resource: resource.to_owned(),
                elapsed: started.elapsed(),
                source: Box::new(source),
            })?;
            let last_state = match state {
                Progress::Done => {
                    tracing::debug!(resource, goal, polls, elapsed = ?started.elapsed(), "wait over");
                    return Ok(started.elapsed());
                }
                Progress::Failed(state) => {
                    return Err(WaitError::Failed {
                        resource: resource.to_owned(),
                        goal,
                        state,
                        elapsed: started.elapsed(),
                    });
                }
                Progress::Waiting(state) => state,
            };
            let elapsed = started.elapsed();
            if elapsed >= self.timeout {
                return Err(WaitError::Timeout {
                    resource: resource.to_owned(),
                    goal,
                    timeout: self.timeout,
                    elapsed,
                    polls,
                    last_state,
                });
            }
            tokio::time::sleep(self.interval.min(self.timeout - elapsed)).await;
        }
    }
}
