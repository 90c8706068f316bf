//! Service control through the inventory's commands, and waiting until Nova's services API
//! reports a compute service up or down.

use std::time::{Duration, Instant};

use squall_clients::compute::ServicesClient;
use squall_clients::compute::services::ListServicesResponse;

use crate::error::{Error, Result};
use crate::inventory::{Inventory, ServiceEntry};
use crate::ssh::{Output, SshClient};

/// What to do with a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Run the `start` command.
    Start,
    /// Run the `stop` command.
    Stop,
    /// Run the `restart` command.
    Restart,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Restart => "restart",
        }
    }
}

/// Start, stop and restart one service of one host through its configured commands.
#[derive(Debug, Clone)]
pub struct ServiceControl {
    ssh: SshClient,
    inventory: Inventory,
    host: String,
    name: String,
    entry: ServiceEntry,
}

impl ServiceControl {
    /// The service `name` of `host`; fails when the inventory has no such section.
    pub fn new(inventory: &Inventory, host: &str, name: &str, ssh: SshClient) -> Result<Self> {
        let entry = inventory.service(host, name)?.clone();
        Ok(Self {
            ssh,
            inventory: inventory.clone(),
            host: host.to_owned(),
            name: name.to_owned(),
            entry,
        })
    }

    /// The service's inventory entry.
    pub fn entry(&self) -> &ServiceEntry {
        &self.entry
    }

    /// The configured command for `what`, wrapped in `sudo -n` when configured.
    pub fn command(&self, action: Action) -> Result<String> {
        let command = match action {
            Action::Start => &self.entry.start,
            Action::Stop => &self.entry.stop,
            Action::Restart => &self.entry.restart,
        };
        let command = self
            .entry
            .require(command, &self.host, &self.name, action.name())?;
        Ok(self.inventory.wrap(None, command))
    }

    async fn act(&self, action: Action) -> Result<Output> {
        let command = self.command(action)?;
        let what = action.name();
        tracing::info!(host = %self.host, service = %self.name, %command, "service {what}");
        self.ssh.run(&command).await
    }

    /// Runs the start command.
    pub async fn start(&self) -> Result<Output> {
        self.act(Action::Start).await
    }

    /// Runs the stop command.
    pub async fn stop(&self) -> Result<Output> {
        self.act(Action::Stop).await
    }

    /// Runs the restart command.
    pub async fn restart(&self) -> Result<Output> {
        self.act(Action::Restart).await
    }
}

/// The state Nova's services API reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// `up`: reported recently.
    Up,
    /// `down`: no report within `service_down_time`.
    Down,
}

impl ServiceState {
    fn as_str(self) -> &'static str {
        match self {
            ServiceState::Up => "up",
            ServiceState::Down => "down",
        }
    }
}

/// `(host, binary, state)` of every service in an os-services answer, whatever its version.
pub fn service_states(body: &ListServicesResponse) -> Vec<(String, String, Option<String>)> {
    match body {
        ListServicesResponse::V2_1(b) => b
            .services
            .iter()
            .map(|s| (s.host.clone(), s.binary.clone(), Some(s.state.to_string())))
            .collect(),
        ListServicesResponse::V2_11(b) => b
            .services
            .iter()
            .map(|s| (s.host.clone(), s.binary.clone(), Some(s.state.to_string())))
            .collect(),
        ListServicesResponse::V2_53(b) => b
            .services
            .iter()
            .map(|s| (s.host.clone(), s.binary.clone(), Some(s.state.to_string())))
            .collect(),
        ListServicesResponse::V2_69(b) => b
            .services
            .iter()
            .map(|s| {
                (
                    s.host.clone(),
                    s.binary.clone(),
                    s.state.as_ref().map(ToString::to_string),
                )
            })
            .collect(),
    }
}

/// Polls the services API every `poll` until the `binary` service of `host` is in state
/// `wanted`, or fails with [`Error::WaitTimeout`] after `timeout` (naming the last state seen).
pub async fn wait_for_service_state(
    services: &ServicesClient,
    host: &str,
    binary: &str,
    wanted: ServiceState,
    timeout: Duration,
    poll: Duration,
) -> Result<()> {
    let started = Instant::now();
    let what = format!("{binary} on {host} in the services API");
    loop {
        let response = services
            .list_services(None)
            .await
            .map_err(|source| Error::Api {
                context: "list services".to_owned(),
                source: Box::new(source),
            })?;
        let state = service_states(&response.body)
            .into_iter()
            .find(|(h, b, _)| h == host && b == binary)
            .map(|(_, _, state)| state);
        let last = match state {
            Some(Some(state)) if state == wanted.as_str() => {
                tracing::info!(%host, %binary, state = wanted.as_str(), elapsed = ?started.elapsed(), "service state reached");
                return Ok(());
            }
            Some(state) => state.unwrap_or_else(|| "unknown (cell down)".to_owned()),
            None => "not listed".to_owned(),
        };
        if started.elapsed() >= timeout {
            return Err(Error::WaitTimeout {
                what,
                wanted: wanted.as_str().to_owned(),
                timeout,
                last,
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// [`wait_for_service_state`] for `nova-compute`.
pub async fn wait_for_compute(
    services: &ServicesClient,
    host: &str,
    wanted: ServiceState,
    timeout: Duration,
) -> Result<()> {
    wait_for_service_state(
        services,
        host,
        "nova-compute",
        wanted,
        timeout,
        Duration::from_secs(1),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_come_from_the_inventory_wrapped_in_sudo() {
        let inventory = Inventory::parse(
            "ssh: {user: u, key: /k, known_hosts: /kh}\nsudo: true\nnodes:\n  c0:\n    address: 192.0.2.1\n    services:\n      nova-compute: {restart: systemctl restart nova-compute}\n",
            "test",
        )
        .unwrap();
        let ssh = SshClient::new(&inventory, "c0").unwrap();
        let control = ServiceControl::new(&inventory, "c0", "nova-compute", ssh).unwrap();
        assert_eq!(
            control.command(Action::Restart).unwrap(),
            "sudo -n sh -c 'systemctl restart nova-compute'"
        );
        let err = control.command(Action::Stop).unwrap_err().to_string();
        assert!(
            err.contains("service nova-compute: no stop configured"),
            "{err}"
        );
    }
}
