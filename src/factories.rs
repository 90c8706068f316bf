//! The process-wide module registry, seeded with the generated modules. The typed factories
//! themselves (`clients.compute().keypairs()`) are generated: see
//! [`squall_clients::ClientsExt`] and each service's `<Service>Clients` trait.

use squall_clients::SERVICES;
use squall_runtime::RegistryError;
use squall_runtime::registry::{self, ServiceModule};

/// Registers the generated modules into the process-wide registry (idempotent).
fn ensure_builtin() {
    registry::with_global(|r| r.add_builtin(SERVICES));
}

/// The `service_version`s of every available module: squall's generated ones, then those
/// registered by plugins (Tempest's `available_modules()`).
pub fn available_modules() -> Vec<String> {
    ensure_builtin();
    registry::global_snapshot().available_modules()
}

/// Registers a plugin's service modules in the process-wide registry, so that
/// [`ServiceClients::module`](squall_runtime::ServiceClients::module) reaches them. Refused, naming both parties, when a
/// `service_version` or a module name is taken, or the plugin is already registered.
pub fn register_plugin(plugin: &str, modules: Vec<ServiceModule>) -> Result<(), RegistryError> {
    ensure_builtin();
    registry::with_global(|r| r.register_plugin(plugin, modules))
}

/// A registry holding only the generated modules, for code that wants its own.
pub fn builtin_registry() -> squall_runtime::Registry {
    squall_runtime::Registry::with_builtin(SERVICES)
}
