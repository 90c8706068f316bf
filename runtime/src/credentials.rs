//! Keystone v3 credentials: who authenticates (user by id, or by name plus domain), how
//! (password, token, application credential) and for what scope (project, domain, system or
//! none).
//!
//! [`CredentialsBuilder`] takes the flat keys of `clouds.yaml`'s `auth` section and of the
//! `OS_*` variables, and [`CredentialsBuilder::build`] rejects an incomplete set with an error
//! that names what is missing.

use serde_json::{Value, json};

use crate::auth::Secret;

/// A domain, by id or by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainRef {
    /// The domain's id.
    Id(String),
    /// The domain's name.
    Name(String),
}

impl DomainRef {
    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({"id": id}),
            Self::Name(name) => json!({"name": name}),
        }
    }
}

/// A user, by id or by name plus domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    /// The user's id (unique across domains).
    Id(String),
    /// The user's name within a domain.
    Name {
        /// The user name.
        name: String,
        /// The user's domain.
        domain: DomainRef,
    },
}

impl UserRef {
    fn to_json(&self) -> Value {
        match self {
            Self::Id(id) => json!({"id": id}),
            Self::Name { name, domain } => json!({"name": name, "domain": domain.to_json()}),
        }
    }

    /// The id or the name, for log lines.
    pub fn label(&self) -> &str {
        match self {
            Self::Id(id) => id,
            Self::Name { name, .. } => name,
        }
    }
}

/// How the user proves who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// A user and a password.
    Password {
        /// The user.
        user: UserRef,
        /// The password (redacted in `Debug`).
        password: Secret,
    },
    /// An existing token (re-scoped or re-issued by Keystone).
    Token(Secret),
    /// An application credential, by id, or by name plus its user.
    ApplicationCredential {
        /// The credential's id.
        id: Option<String>,
        /// The credential's name (needs `user`).
        name: Option<String>,
        /// The owner, when the credential is named.
        user: Option<UserRef>,
        /// The secret (redacted in `Debug`).
        secret: Secret,
    },
}

/// What the token is for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    /// A project, by id.
    ProjectId(String),
    /// A project, by name within a domain.
    ProjectName {
        /// The project name.
        name: String,
        /// The project's domain.
        domain: DomainRef,
    },
    /// A domain.
    Domain(DomainRef),
    /// The whole deployment (`{"system": {"all": true}}`).
    System,
    /// No scope: the token carries no roles and, usually, no catalog.
    #[default]
    Unscoped,
}

impl Scope {
    fn to_json(&self) -> Option<Value> {
        match self {
            Self::ProjectId(id) => Some(json!({"project": {"id": id}})),
            Self::ProjectName { name, domain } => {
                Some(json!({"project": {"name": name, "domain": domain.to_json()}}))
            }
            Self::Domain(domain) => Some(json!({"domain": domain.to_json()})),
            Self::System => Some(json!({"system": {"all": true}})),
            Self::Unscoped => None,
        }
    }

    /// A short description for log lines (`project admin`, `system`).
    pub fn label(&self) -> String {
        match self {
            Self::ProjectId(id) => format!("project {id}"),
            Self::ProjectName { name, .. } => format!("project {name}"),
            Self::Domain(DomainRef::Id(d) | DomainRef::Name(d)) => format!("domain {d}"),
            Self::System => "system".to_owned(),
            Self::Unscoped => "unscoped".to_owned(),
        }
    }
}

/// Complete Keystone v3 credentials; build them with [`Credentials::builder`] or the
/// constructors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// How to authenticate.
    pub method: AuthMethod,
    /// What to scope the token to.
    pub scope: Scope,
}

/// Credentials that cannot authenticate; the message names the missing or conflicting keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// Something required is missing.
    #[error("incomplete credentials: {missing} ({reason})")]
    Missing {
        /// The key, or the alternatives, that must be set.
        missing: String,
        /// Why it is needed.
        reason: String,
    },
    /// A value is not one the key accepts.
    #[error("invalid credentials: {key} = {value:?}: {reason}")]
    Invalid {
        /// The key.
        key: String,
        /// The value given (never a secret).
        value: String,
        /// What is wrong.
        reason: String,
    },
}

fn missing(missing: &str, reason: &str) -> CredentialsError {
    CredentialsError::Missing {
        missing: missing.to_owned(),
        reason: reason.to_owned(),
    }
}

impl Credentials {
    /// A builder taking the flat keys of `clouds.yaml` (`username`, `project_name`, ...).
    pub fn builder() -> CredentialsBuilder {
        CredentialsBuilder::default()
    }

    /// Password credentials for a user by name in a domain, scoped to a project by name in a
    /// domain: the common case.
    pub fn password(
        username: &str,
        user_domain_name: &str,
        password: Secret,
        project_name: &str,
        project_domain_name: &str,
    ) -> Self {
        Self {
            method: AuthMethod::Password {
                user: UserRef::Name {
                    name: username.to_owned(),
                    domain: DomainRef::Name(user_domain_name.to_owned()),
                },
                password,
            },
            scope: Scope::ProjectName {
                name: project_name.to_owned(),
                domain: DomainRef::Name(project_domain_name.to_owned()),
            },
        }
    }

    /// The same credentials with another scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// The body of `POST /v3/auth/tokens`. It holds the secret: never log it.
    pub(crate) fn token_request(&self) -> Value {
        let identity = match &self.method {
            AuthMethod::Password { user, password } => {
                let mut user = user.to_json();
                user["password"] = Value::String(password.expose().to_owned());
                json!({"methods": ["password"], "password": {"user": user}})
            }
            AuthMethod::Token(token) => {
                json!({"methods": ["token"], "token": {"id": token.expose()}})
            }
            AuthMethod::ApplicationCredential {
                id,
                name,
                user,
                secret,
            } => {
                let mut credential = json!({"secret": secret.expose()});
                if let Some(id) = id {
                    credential["id"] = json!(id);
                }
                if let Some(name) = name {
                    credential["name"] = json!(name);
                }
                if let Some(user) = user {
                    credential["user"] = user.to_json();
                }
                json!({"methods": ["application_credential"], "application_credential": credential})
            }
        };
        let mut auth = json!({"identity": identity});
        if let Some(scope) = self.scope.to_json() {
            auth["scope"] = scope;
        }
        json!({ "auth": auth })
    }

    /// Who authenticates, for log lines (never a secret).
    pub fn label(&self) -> String {
        let who = match &self.method {
            AuthMethod::Password { user, .. } => format!("password user {}", user.label()),
            AuthMethod::Token(_) => "token".to_owned(),
            AuthMethod::ApplicationCredential { id, name, .. } => format!(
                "application credential {}",
                id.as_deref().or(name.as_deref()).unwrap_or("?")
            ),
        };
        format!("{who}, {}", self.scope.label())
    }
}

/// Flat credential keys, as `clouds.yaml`'s `auth` section and the `OS_*` variables spell them.
///
/// Unset keys are `None`; [`build`](Self::build) decides the method and the scope and names
/// what is missing. `default_domain_id`/`default_domain_name` fill in a missing user or
/// project domain, as openstacksdk does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct CredentialsBuilder {
    /// `password`, `token` or `application_credential` (also `v3password`, ...); inferred
    /// from the secrets given when unset.
    pub auth_type: Option<String>,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub user_domain_id: Option<String>,
    pub user_domain_name: Option<String>,
    pub password: Option<Secret>,
    pub token: Option<Secret>,
    pub application_credential_id: Option<String>,
    pub application_credential_name: Option<String>,
    pub application_credential_secret: Option<Secret>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_domain_id: Option<String>,
    pub project_domain_name: Option<String>,
    /// Domain scope.
    pub domain_id: Option<String>,
    /// Domain scope.
    pub domain_name: Option<String>,
    /// `all` for system scope.
    pub system_scope: Option<String>,
    pub default_domain_id: Option<String>,
    pub default_domain_name: Option<String>,
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, value: impl Into<String>) -> Self {
            self.$name = Some(value.into());
            self
        }
    )*};
}

impl CredentialsBuilder {
    setters! {
        /// Sets `auth_type`.
        auth_type,
        /// Sets `user_id`.
        user_id,
        /// Sets `username`.
        username,
        /// Sets `user_domain_id`.
        user_domain_id,
        /// Sets `user_domain_name`.
        user_domain_name,
        /// Sets `application_credential_id`.
        application_credential_id,
        /// Sets `application_credential_name`.
        application_credential_name,
        /// Sets `project_id`.
        project_id,
        /// Sets `project_name`.
        project_name,
        /// Sets `project_domain_id`.
        project_domain_id,
        /// Sets `project_domain_name`.
        project_domain_name,
        /// Sets `domain_id` (domain scope).
        domain_id,
        /// Sets `domain_name` (domain scope).
        domain_name,
        /// Sets `system_scope` (`all`).
        system_scope,
        /// Sets `default_domain_id`.
        default_domain_id,
        /// Sets `default_domain_name`.
        default_domain_name,
    }

    /// Sets the password.
    pub fn password(mut self, value: Secret) -> Self {
        self.password = Some(value);
        self
    }

    /// Sets the token to authenticate with.
    pub fn token(mut self, value: Secret) -> Self {
        self.token = Some(value);
        self
    }

    /// Sets the application credential's secret.
    pub fn application_credential_secret(mut self, value: Secret) -> Self {
        self.application_credential_secret = Some(value);
        self
    }

    /// Sets a key by its `clouds.yaml` name; secrets are wrapped. Unknown keys are an error
    /// that names them.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), CredentialsError> {
        let v = Some(value.to_owned());
        match key {
            "auth_type" => self.auth_type = v,
            "user_id" => self.user_id = v,
            "username" | "user_name" => self.username = v,
            "user_domain_id" => self.user_domain_id = v,
            "user_domain_name" => self.user_domain_name = v,
            "password" => self.password = Some(Secret::new(value)),
            "token" => self.token = Some(Secret::new(value)),
            "application_credential_id" => self.application_credential_id = v,
            "application_credential_name" => self.application_credential_name = v,
            "application_credential_secret" => {
                self.application_credential_secret = Some(Secret::new(value))
            }
            "project_id" | "tenant_id" => self.project_id = v,
            "project_name" | "tenant_name" => self.project_name = v,
            "project_domain_id" => self.project_domain_id = v,
            "project_domain_name" => self.project_domain_name = v,
            "domain_id" => self.domain_id = v,
            "domain_name" => self.domain_name = v,
            "system_scope" => self.system_scope = v,
            "default_domain_id" => self.default_domain_id = v,
            "default_domain_name" => self.default_domain_name = v,
            _ => {
                return Err(CredentialsError::Invalid {
                    key: key.to_owned(),
                    value: if key.contains("secret") || key.contains("password") {
                        "***".to_owned()
                    } else {
                        value.to_owned()
                    },
                    reason: "not a Keystone v3 credential key".to_owned(),
                });
            }
        }
        Ok(())
    }

    fn domain(id: &Option<String>, name: &Option<String>) -> Option<DomainRef> {
        match (id, name) {
            (Some(id), _) => Some(DomainRef::Id(id.clone())),
            (None, Some(name)) => Some(DomainRef::Name(name.clone())),
            (None, None) => None,
        }
    }

    fn default_domain(&self) -> Option<DomainRef> {
        Self::domain(&self.default_domain_id, &self.default_domain_name)
    }

    fn user(&self, needed_for: &str) -> Result<Option<UserRef>, CredentialsError> {
        if let Some(id) = &self.user_id {
            return Ok(Some(UserRef::Id(id.clone())));
        }
        let Some(name) = &self.username else {
            return Ok(None);
        };
        let domain = Self::domain(&self.user_domain_id, &self.user_domain_name)
            .or_else(|| self.default_domain())
            .ok_or_else(|| {
                missing(
                    "user_domain_name or user_domain_id",
                    &format!("user {name:?} is given by name ({needed_for}); names are unique only within a domain"),
                )
            })?;
        Ok(Some(UserRef::Name {
            name: name.clone(),
            domain,
        }))
    }

    fn scope(&self) -> Result<Scope, CredentialsError> {
        if let Some(system) = &self.system_scope {
            if system != "all" {
                return Err(CredentialsError::Invalid {
                    key: "system_scope".to_owned(),
                    value: system.clone(),
                    reason: "Keystone knows only the system scope `all`".to_owned(),
                });
            }
            return Ok(Scope::System);
        }
        if let Some(id) = &self.project_id {
            return Ok(Scope::ProjectId(id.clone()));
        }
        if let Some(name) = &self.project_name {
            let domain = Self::domain(&self.project_domain_id, &self.project_domain_name)
                .or_else(|| self.default_domain())
                .ok_or_else(|| {
                    missing(
                        "project_domain_name or project_domain_id",
                        &format!("project {name:?} is given by name; names are unique only within a domain"),
                    )
                })?;
            return Ok(Scope::ProjectName {
                name: name.clone(),
                domain,
            });
        }
        if let Some(domain) = Self::domain(&self.domain_id, &self.domain_name) {
            return Ok(Scope::Domain(domain));
        }
        Ok(Scope::Unscoped)
    }

    /// Checks the keys and builds the credentials; the error names what is missing.
    pub fn build(&self) -> Result<Credentials, CredentialsError> {
        let kind = match self.auth_type.as_deref() {
            Some("password" | "v3password") => "password",
            Some("token" | "v3token") => "token",
            Some("application_credential" | "v3applicationcredential") => "application_credential",
            Some(other) => {
                return Err(CredentialsError::Invalid {
                    key: "auth_type".to_owned(),
                    value: other.to_owned(),
                    reason: "expected password, token or application_credential (v3 only)"
                        .to_owned(),
                });
            }
            None if self.application_credential_secret.is_some() => "application_credential",
            None if self.token.is_some() => "token",
            None if self.password.is_some() => "password",
            None => {
                return Err(missing(
                    "password, token or application_credential_secret",
                    "no authentication method: nothing proves who the user is",
                ));
            }
        };
        let method =
            match kind {
                "password" => {
                    let password = self.password.clone().ok_or_else(|| {
                        missing("password", "auth_type password needs the user's password")
                    })?;
                    let user = self.user("password auth")?.ok_or_else(|| {
                        missing(
                            "user_id, or username with user_domain_name",
                            "password auth needs a user",
                        )
                    })?;
                    AuthMethod::Password { user, password }
                }
                "token" => AuthMethod::Token(
                    self.token
                        .clone()
                        .ok_or_else(|| missing("token", "auth_type token needs a token"))?,
                ),
                _ => {
                    let secret = self.application_credential_secret.clone().ok_or_else(|| {
                        missing(
                            "application_credential_secret",
                            "application credential auth needs the credential's secret",
                        )
                    })?;
                    let id = self.application_credential_id.clone();
                    let name = self.application_credential_name.clone();
                    let user =
                        if id.is_none() {
                            if name.is_none() {
                                return Err(missing(
                                    "application_credential_id or application_credential_name",
                                    "application credential auth needs the credential",
                                ));
                            }
                            Some(self.user("a named application credential")?.ok_or_else(|| {
                        missing(
                            "user_id, or username with user_domain_name",
                            "an application credential given by name belongs to a user",
                        )
                    })?)
                        } else {
                            None
                        };
                    AuthMethod::ApplicationCredential {
                        id,
                        name,
                        user,
                        secret,
                    }
                }
            };
        let scope = if matches!(method, AuthMethod::ApplicationCredential { .. }) {
            // An application credential carries its own project; Keystone refuses a scope.
            Scope::Unscoped
        } else {
            self.scope()?
        };
        Ok(Credentials { method, scope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_by_name_with_project_scope() {
        let creds = Credentials::builder()
            .username("admin")
            .user_domain_name("Default")
            .password(Secret::new("pw"))
            .project_name("admin")
            .project_domain_id("default")
            .build()
            .unwrap();
        let body = creds.token_request();
        assert_eq!(
            body["auth"]["identity"]["password"]["user"],
            json!({"name": "admin", "domain": {"name": "Default"}, "password": "pw"})
        );
        assert_eq!(
            body["auth"]["scope"],
            json!({"project": {"name": "admin", "domain": {"id": "default"}}})
        );
    }

    #[test]
    fn system_domain_and_unscoped() {
        let base = Credentials::builder()
            .user_id("u1")
            .password(Secret::new("pw"));
        let system = base.clone().system_scope("all").build().unwrap();
        assert_eq!(
            system.token_request()["auth"]["scope"],
            json!({"system": {"all": true}})
        );
        let domain = base.clone().domain_name("Default").build().unwrap();
        assert_eq!(
            domain.scope,
            Scope::Domain(DomainRef::Name("Default".into()))
        );
        let unscoped = base.build().unwrap();
        assert!(unscoped.token_request()["auth"].get("scope").is_none());
    }

    #[test]
    fn incomplete_credentials_name_what_is_missing() {
        let err = Credentials::builder()
            .username("admin")
            .password(Secret::new("pw"))
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("user_domain_name"), "{err}");
        let err = Credentials::builder()
            .user_id("u")
            .password(Secret::new("pw"))
            .project_name("p")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("project_domain_name"), "{err}");
        let err = Credentials::builder()
            .username("admin")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("password, token"), "{err}");
        let err = Credentials::builder()
            .application_credential_secret(Secret::new("s"))
            .build()
            .unwrap_err();
        assert!(
            err.to_string().contains("application_credential_id"),
            "{err}"
        );
        let err = Credentials::builder()
            .auth_type("password")
            .user_id("u")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
        let err = Credentials::builder()
            .user_id("u")
            .password(Secret::new("pw"))
            .system_scope("some")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("system_scope"), "{err}");
    }

    #[test]
    fn token_and_application_credential_bodies() {
        let token = Credentials::builder()
            .token(Secret::new("tok"))
            .project_id("p1")
            .build()
            .unwrap();
        assert_eq!(
            token.token_request()["auth"]["identity"],
            json!({"methods": ["token"], "token": {"id": "tok"}})
        );
        let app = Credentials::builder()
            .application_credential_id("ac1")
            .application_credential_secret(Secret::new("s"))
            .project_name("ignored")
            .build()
            .unwrap();
        assert_eq!(app.scope, Scope::Unscoped);
        assert_eq!(
            app.token_request()["auth"]["identity"]["application_credential"],
            json!({"secret": "s", "id": "ac1"})
        );
        assert!(!format!("{app:?}").contains("\"s\""));
    }
}
