//! Waiters, like Tempest's `wait_for_resource_deletion`, `wait_for_resource_activation`,
//! `wait_for_server_status` and `wait_for_server_termination`: poll every build interval until
//! the resource is gone or in the wanted state, bounded by the build timeout. A timeout reports
//! the time elapsed and the last state seen.
//!
//! The server waiters take a poll function returning a [`ServerState`], so they work with any
//! client (and any microversion's response type): the caller reads status, task state and
//! fault out of its own show call.

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
        /// `deleted`, `active`, or the server status waited for.
        goal: String,
        /// The build timeout.
        timeout: Duration,
        /// Time spent waiting.
        elapsed: Duration,
        /// How many times the resource was polled.
        polls: u32,
        /// The last state seen.
        last_state: String,
    },
    /// The resource reached a failure state (for a server: ERROR, with its fault message).
    #[error(
        "{resource} went to {state} while waiting for it to become {goal} ({elapsed:.1?} elapsed)"
    )]
    Failed {
        /// What was waited for.
        resource: String,
        /// `active`, or the server status waited for.
        goal: String,
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

/// What one poll of a server saw: the fields Tempest's `wait_for_server_status` reads.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerState {
    /// `status`, e.g. `ACTIVE`, `BUILD`, `ERROR`.
    pub status: String,
    /// `OS-EXT-STS:task_state`; `None` when no task runs (or the caller cannot see it).
    pub task_state: Option<String>,
    /// `fault.message`, present on a server in ERROR.
    pub fault: Option<String>,
}

impl ServerState {
    /// Reads the state out of a server document (`{"server": {...}}` or the server itself).
    pub fn from_json(value: &serde_json::Value) -> Self {
        let server = value.get("server").unwrap_or(value);
        let text = |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).map(str::to_owned);
        Self {
            status: text(server.get("status")).unwrap_or_default(),
            task_state: text(server.get("OS-EXT-STS:task_state")),
            fault: text(server.get("fault").and_then(|f| f.get("message"))),
        }
    }
}

impl std::fmt::Display for ServerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "status {}, task state {}",
            self.status,
            self.task_state.as_deref().unwrap_or("none")
        )?;
        if let Some(fault) = &self.fault {
            write!(f, ", fault: {fault}")?;
        }
        Ok(())
    }
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

    /// Waits until the server has `status` (e.g. `ACTIVE`) and, when `task_state` is given,
    /// that task state (`None` there means "whatever task"; use
    /// [`wait_for_server_status_idle`](Self::wait_for_server_status_idle) to also wait for no
    /// task). As Tempest's `wait_for_server_status`, a server in `ERROR` ends the wait at once
    /// with its fault message (unless `ERROR` is what is waited for).
    pub async fn wait_for_server_status<F, Fut>(
        &self,
        server_id: &str,
        status: &str,
        task_state: Option<&str>,
        mut show: F,
    ) -> Result<ServerState, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ServerState, Error>>,
    {
        self.wait_for_server(
            server_id,
            status,
            |seen| {
                seen.status == status
                    && (task_state.is_none() || seen.task_state.as_deref() == task_state)
            },
            &mut show,
        )
        .await
    }

    /// Waits until the server has `status` and no task state, so that the next action is
    /// accepted (Tempest's `ready_wait` after an action).
    pub async fn wait_for_server_status_idle<F, Fut>(
        &self,
        server_id: &str,
        status: &str,
        mut show: F,
    ) -> Result<ServerState, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ServerState, Error>>,
    {
        self.wait_for_server(
            server_id,
            status,
            |seen| seen.status == status && seen.task_state.is_none(),
            &mut show,
        )
        .await
    }

    async fn wait_for_server<F, Fut>(
        &self,
        server_id: &str,
        status: &str,
        done: impl Fn(&ServerState) -> bool,
        show: &mut F,
    ) -> Result<ServerState, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ServerState, Error>>,
    {
        let resource = format!("server {server_id}");
        let last = std::sync::Mutex::new(None);
        self.poll(&resource, &format!("status {status}"), || {
            let call = show();
            let last = &last;
            let done = &done;
            async move {
                let seen = call.await?;
                let progress = if done(&seen) {
                    Progress::Done
                } else if seen.status == "ERROR" {
                    Progress::Failed(seen.to_string())
                } else {
                    Progress::Waiting(seen.to_string())
                };
                if let Ok(mut slot) = last.lock() {
                    *slot = Some(seen);
                }
                Ok(progress)
            }
        })
        .await?;
        Ok(last.into_inner().ok().flatten().unwrap_or_default())
    }

    /// Waits until the server is gone: its show answers 404 (NotFound), as Tempest's
    /// `wait_for_server_termination`. A server in `ERROR` on the way ends the wait with its
    /// fault; a poll that sees the server reports its last state on timeout.
    pub async fn wait_for_server_termination<F, Fut>(
        &self,
        server_id: &str,
        mut show: F,
    ) -> Result<Duration, WaitError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ServerState, Error>>,
    {
        let resource = format!("server {server_id}");
        self.poll(&resource, "deleted", || {
            let call = show();
            async move {
                match call.await {
                    Ok(seen) if seen.status == "ERROR" => Ok(Progress::Failed(seen.to_string())),
                    Ok(seen) => Ok(Progress::Waiting(seen.to_string())),
                    Err(e) if e.http_kind() == Some(HttpErrorKind::NotFound) => Ok(Progress::Done),
                    Err(e) => Err(e),
                }
            }
        })
        .await
    }

    async fn poll<F, Fut>(
        &self,
        resource: &str,
        goal: &str,
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
                        goal: goal.to_owned(),
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
                    goal: goal.to_owned(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: &str, task: Option<&str>, fault: Option<&str>) -> ServerState {
        ServerState {
            status: status.to_owned(),
            task_state: task.map(str::to_owned),
            fault: fault.map(str::to_owned),
        }
    }

    fn quick() -> Waiter {
        Waiter::new(Duration::from_millis(1), Duration::from_millis(200))
    }

    /// A poll function that answers the given states in turn, then the last one forever.
    fn script(
        states: Vec<ServerState>,
    ) -> impl FnMut() -> std::future::Ready<Result<ServerState, Error>> {
        let mut next = 0;
        move || {
            let seen = states[next.min(states.len() - 1)].clone();
            next += 1;
            std::future::ready(Ok(seen))
        }
    }

    #[tokio::test]
    async fn status_with_no_task_is_reached_through_the_build() {
        let seen = quick()
            .wait_for_server_status_idle(
                "s1",
                "ACTIVE",
                script(vec![
                    state("BUILD", Some("scheduling"), None),
                    state("ACTIVE", Some("powering-on"), None),
                    state("ACTIVE", None, None),
                ]),
            )
            .await
            .unwrap();
        assert_eq!(seen, state("ACTIVE", None, None));
    }

    #[tokio::test]
    async fn a_task_state_can_be_waited_for() {
        let seen = quick()
            .wait_for_server_status(
                "s1",
                "ACTIVE",
                Some("image_uploading"),
                script(vec![
                    state("ACTIVE", None, None),
                    state("ACTIVE", Some("image_uploading"), None),
                ]),
            )
            .await
            .unwrap();
        assert_eq!(seen.task_state.as_deref(), Some("image_uploading"));
    }

    #[tokio::test]
    async fn error_fails_fast_with_the_fault() {
        let err = quick()
            .wait_for_server_status_idle(
                "s1",
                "ACTIVE",
                script(vec![state("ERROR", None, Some("No valid host was found."))]),
            )
            .await
            .unwrap_err();
        let WaitError::Failed { state, goal, .. } = &err else {
            panic!("{err:?}")
        };
        assert!(state.contains("No valid host was found."), "{state}");
        assert_eq!(goal, "status ACTIVE");
    }

    #[tokio::test]
    async fn a_timeout_reports_the_last_state() {
        let err = quick()
            .wait_for_server_status_idle(
                "s1",
                "SHUTOFF",
                script(vec![state("ACTIVE", Some("powering-off"), None)]),
            )
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("server s1") && text.contains("status ACTIVE, task state powering-off"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn termination_fails_on_error_and_times_out_while_present() {
        let err = quick()
            .wait_for_server_termination("s1", script(vec![state("ERROR", None, Some("boom"))]))
            .await
            .unwrap_err();
        assert!(matches!(err, WaitError::Failed { .. }), "{err:?}");
        let err = quick()
            .wait_for_server_termination(
                "s1",
                script(vec![state("ACTIVE", Some("deleting"), None)]),
            )
            .await
            .unwrap_err();
        assert!(err.to_string().contains("deleting"), "{err}");
    }

    #[test]
    fn state_is_read_from_a_server_document() {
        let doc = serde_json::json!({"server": {"status": "ERROR", "OS-EXT-STS:task_state": null,
            "fault": {"code": 500, "message": "boom", "created": "2026-12-03T00:00:00Z"}}});
        assert_eq!(
            ServerState::from_json(&doc),
            state("ERROR", None, Some("boom"))
        );
    }
}
