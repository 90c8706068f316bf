//! The service-module registry: the generated modules plus those plugins register.
//!
//! A module is one service's generated clients, named (`compute`) and keyed by its
//! `service_version` (`compute`, `identity.v3`). A plugin (a crate that generates its own
//! clients, the way a Tempest plugin exposes service clients) registers its modules under its
//! own name. Three registrations are refused, each with an error naming both parties:
//!
//! - a `service_version` another module already holds;
//! - a plugin name registered twice;
//! - a module name already in use.
//!
//! [`global`] is the process-wide registry that [`ServiceClients`](crate::clients::ServiceClients)
//! consults; the `squall` crate seeds it with the generated modules. A [`Registry`] value can
//! also be built and passed around on its own (handy in tests).

use std::sync::{LazyLock, RwLock};

use crate::meta::ServiceMeta;

/// One service module: a name, a `service_version` and the service it serves.
#[derive(Debug, Clone)]
pub struct ServiceModule {
    /// The module's name (`compute`, `identity`), as `ServiceClients::module` takes it.
    pub name: String,
    /// The service and API version it covers (`compute`, `identity.v3`).
    pub service_version: String,
    /// The generated service description (catalog type, microversion headers).
    pub service: &'static ServiceMeta,
    /// The plugin that registered it; `None` for squall's own generated modules.
    pub plugin: Option<String>,
}

impl ServiceModule {
    /// A module named after its service, with `service_version` equal to the name.
    pub fn for_service(service: &'static ServiceMeta) -> Self {
        Self {
            name: service.name.to_owned(),
            service_version: service.name.to_owned(),
            service,
            plugin: None,
        }
    }

    /// A module with an explicit name and `service_version`.
    pub fn new(name: &str, service_version: &str, service: &'static ServiceMeta) -> Self {
        Self {
            name: name.to_owned(),
            service_version: service_version.to_owned(),
            service,
            plugin: None,
        }
    }

    fn owner(&self) -> String {
        match &self.plugin {
            Some(plugin) => format!("module {:?} of plugin {plugin:?}", self.name),
            None => format!("squall's module {:?}", self.name),
        }
    }
}

/// A refused registration; each names both parties.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The `service_version` is already held by another module.
    #[error(
        "plugin {plugin:?} cannot register service_version {service_version:?}: {holder} already holds it"
    )]
    ServiceVersionTaken {
        /// The plugin that tried.
        plugin: String,
        /// The contested service_version.
        service_version: String,
        /// Who holds it (`squall's module "compute"`, `module "x" of plugin "y"`).
        holder: String,
    },
    /// A plugin of this name is already registered.
    #[error(
        "plugin {plugin:?} is already registered (with modules {existing:?}); the second registration (modules {attempted:?}) is refused"
    )]
    PluginRegistered {
        /// The plugin's name.
        plugin: String,
        /// The modules of the first registration.
        existing: Vec<String>,
        /// The modules of the refused one.
        attempted: Vec<String>,
    },
    /// The module name is already in use.
    #[error("plugin {plugin:?} cannot register module {module:?}: the name is taken by {holder}")]
    ModuleNameTaken {
        /// The plugin that tried.
        plugin: String,
        /// The contested module name.
        module: String,
        /// Who has it.
        holder: String,
    },
}

/// Registered service modules.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    modules: Vec<ServiceModule>,
    plugins: Vec<String>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// A registry holding squall's generated modules (`squall_clients::SERVICES`).
    pub fn with_builtin(services: &[&'static ServiceMeta]) -> Self {
        let mut registry = Self::new();
        registry.add_builtin(services);
        registry
    }

    /// Adds generated modules that are not there yet (idempotent).
    pub fn add_builtin(&mut self, services: &[&'static ServiceMeta]) {
        for service in services {
            if !self
                .modules
                .iter()
                .any(|m| m.plugin.is_none() && m.name == service.name)
            {
                self.modules.push(ServiceModule::for_service(service));
            }
        }
    }

    /// Registers a plugin's modules, all or none.
    pub fn register_plugin(
        &mut self,
        plugin: &str,
        modules: Vec<ServiceModule>,
    ) -> Result<(), RegistryError> {
        if self.plugins.iter().any(|p| p == plugin) {
            return Err(RegistryError::PluginRegistered {
                plugin: plugin.to_owned(),
                existing: self
                    .modules
                    .iter()
                    .filter(|m| m.plugin.as_deref() == Some(plugin))
                    .map(|m| m.service_version.clone())
                    .collect(),
                attempted: modules.iter().map(|m| m.service_version.clone()).collect(),
            });
        }
        for (i, module) in modules.iter().enumerate() {
            let earlier = &modules[..i];
            if let Some(holder) = self
                .modules
                .iter()
                .find(|m| m.service_version == module.service_version)
                .map(ServiceModule::owner)
                .or_else(|| {
                    earlier
                        .iter()
                        .find(|m| m.service_version == module.service_version)
                        .map(|m| format!("module {:?} of plugin {plugin:?}", m.name))
                })
            {
                return Err(RegistryError::ServiceVersionTaken {
                    plugin: plugin.to_owned(),
                    service_version: module.service_version.clone(),
                    holder,
                });
            }
            if let Some(holder) = self
                .modules
                .iter()
                .find(|m| m.name == module.name)
                .map(ServiceModule::owner)
                .or_else(|| {
                    earlier
                        .iter()
                        .find(|m| m.name == module.name)
                        .map(|m| format!("module {:?} of plugin {plugin:?}", m.name))
                })
            {
                return Err(RegistryError::ModuleNameTaken {
                    plugin: plugin.to_owned(),
                    module: module.name.clone(),
                    holder,
                });
            }
        }
        self.plugins.push(plugin.to_owned());
        self.modules.extend(modules.into_iter().map(|mut m| {
            m.plugin = Some(plugin.to_owned());
            m
        }));
        Ok(())
    }

    /// The `service_version`s of every module: generated ones first, then plugins', in
    /// registration order.
    pub fn available_modules(&self) -> Vec<String> {
        self.modules
            .iter()
            .map(|m| m.service_version.clone())
            .collect()
    }

    /// The registered plugins.
    pub fn plugins(&self) -> &[String] {
        &self.plugins
    }

    /// A module by name or by `service_version`.
    pub fn module(&self, name: &str) -> Option<&ServiceModule> {
        self.modules
            .iter()
            .find(|m| m.name == name)
            .or_else(|| self.modules.iter().find(|m| m.service_version == name))
    }

    /// Every module.
    pub fn modules(&self) -> &[ServiceModule] {
        &self.modules
    }
}

static GLOBAL: LazyLock<RwLock<Registry>> = LazyLock::new(|| RwLock::new(Registry::new()));

/// The process-wide registry. Prefer `squall::register_plugin` and
/// `squall::available_modules`, which seed it with the generated modules first.
pub fn global() -> &'static RwLock<Registry> {
    &GLOBAL
}

/// A copy of the process-wide registry (a poisoned lock is recovered: the registry is only
/// ever replaced whole).
pub fn global_snapshot() -> Registry {
    match GLOBAL.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Runs `f` on the process-wide registry, write-locked.
pub fn with_global<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    match GLOBAL.write() {
        Ok(mut guard) => f(&mut guard),
        Err(poisoned) => f(&mut poisoned.into_inner()),
    }
}
