//! Typed factories for the generated service modules, e.g. `clients.compute().keypairs()` or
//! `clients.baremetal().nodes()`, and the process-wide module registry seeded with the
//! generated modules.
//!
//! The accessor list mirrors the generated modules; the generator could emit it (see the
//! closing note of issue 5). Any generated client is also reachable through
//! [`ClientsFactory::client`]: `clients.compute().client(KeypairsClient::new)`.

use squall_clients::{SERVICES, baremetal, compute, placement};
use squall_runtime::registry::{self, ServiceModule};
use squall_runtime::{ApiVersion, ClientsFactory, Error, RegistryError, ServiceClients};

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
/// [`ServiceClients::module`] reaches them. Refused, naming both parties, when a
/// `service_version` or a module name is taken, or the plugin is already registered.
pub fn register_plugin(plugin: &str, modules: Vec<ServiceModule>) -> Result<(), RegistryError> {
    ensure_builtin();
    registry::with_global(|r| r.register_plugin(plugin, modules))
}

/// A registry holding only the generated modules, for code that wants its own.
pub fn builtin_registry() -> squall_runtime::Registry {
    squall_runtime::Registry::with_builtin(SERVICES)
}

macro_rules! typed_factories {
    ($(
        $(#[$doc:meta])*
        $accessor:ident -> $factory:ident ($module:ident) {
            $($client_fn:ident => $client:ident),* $(,)?
        }
    )*) => {
        /// Typed accessors for the generated service modules.
        pub trait ClientsExt {
            $(
                $(#[$doc])*
                fn $accessor(&self) -> $factory;
            )*
        }

        impl ClientsExt for ServiceClients {
            $(
                fn $accessor(&self) -> $factory {
                    ensure_builtin();
                    $factory(self.factory(&$module::SERVICE))
                }
            )*
        }

        $(
            $(#[$doc])*
            #[derive(Debug, Clone)]
            pub struct $factory(pub ClientsFactory);

            impl $factory {
                /// The same factory for another region (this copy only).
                pub fn with_region(self, region: impl Into<String>) -> Self {
                    Self(self.0.with_region(region))
                }

                /// The same factory for another interface (this copy only).
                pub fn with_interface(self, interface: impl Into<String>) -> Self {
                    Self(self.0.with_interface(interface))
                }

                /// The same factory talking to this URL (this copy only).
                pub fn with_endpoint_override(self, url: impl Into<String>) -> Self {
                    Self(self.0.with_endpoint_override(url))
                }

                /// The same factory asking for another microversion (this copy only).
                pub fn with_microversion(self, version: ApiVersion) -> Self {
                    Self(self.0.with_microversion(version))
                }

                /// The untyped factory.
                pub fn factory(&self) -> &ClientsFactory {
                    &self.0
                }

                $(
                    #[doc = concat!("A [`", stringify!($module), "::", stringify!($client), "`] with this factory's settings.")]
                    pub async fn $client_fn(&self) -> Result<$module::$client, Error> {
                        self.0.client($module::$client::new).await
                    }
                )*
            }
        )*
    };
}

typed_factories! {
    /// Nova (compute) clients.
    compute -> ComputeFactory (compute) {
        flavor_access => FlavorAccessClient,
        flavor_extra_specs => FlavorExtraSpecsClient,
        flavors => FlavorsClient,
        keypairs => KeypairsClient,
        servers => ServersClient,
        services => ServicesClient,
        versions => VersionsClient,
    }
    /// Placement clients.
    placement -> PlacementFactory (placement) {
        aggregates => AggregatesClient,
        inventories => InventoriesClient,
        resource_classes => ResourceClassesClient,
        resource_providers => ResourceProvidersClient,
        traits => TraitsClient,
        usages => UsagesClient,
        versions => VersionsClient,
    }
    /// Ironic (bare metal) clients.
    baremetal -> BaremetalFactory (baremetal) {
        nodes => NodesClient,
        versions => VersionsClient,
    }
}
