//! The few Keystone v3 calls the credential providers need (projects, users, role
//! assignments), written by hand until the identity operations are generated. Everything
//! Keystone-specific the testing crate does goes through [`IdentityAdmin`], so switching to
//! the generated identity clients replaces this module only.

use std::sync::Arc;

use serde_json::{Value, json};
use squall_runtime::{AuthProvider, Secret, ServiceClients};

/// A Keystone call failed.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// No token for the admin credentials.
    #[error("admin authentication failed: {0}")]
    Auth(#[from] squall_runtime::auth::AuthError),
    /// The request did not get an answer.
    #[error("{method} {url}: {source}")]
    Transport {
        /// The method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// Keystone answered with an unexpected status.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Status {
        /// The method.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The body Keystone sent.
        body: String,
    },
    /// The answer lacked something expected.
    #[error("{0}")]
    Unexpected(String),
}

/// Admin access to Keystone's v3 API through an authenticated [`ServiceClients`].
#[derive(Debug, Clone)]
pub struct IdentityAdmin {
    http: reqwest::Client,
    provider: Arc<AuthProvider>,
    url: String,
}

impl IdentityAdmin {
    /// Keystone at the URL `clients` authenticate against, with their (admin) token.
    pub fn new(clients: &ServiceClients) -> Self {
        Self {
            http: clients.rest_client().http().clone(),
            provider: Arc::clone(clients.auth_provider()),
            url: clients.auth_provider().auth_url().to_owned(),
        }
    }

    /// The Keystone v3 URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn send(
        &self,
        method: &'static str,
        path: &str,
        body: Option<Value>,
        ok: &[u16],
    ) -> Result<(u16, Value), KeystoneError> {
        let url = format!("{}{path}", self.url);
        let token = self.provider.token().await?;
        let builder = match method {
            "GET" => self.http.get(&url),
            "POST" => self.http.post(&url),
            "PUT" => self.http.put(&url),
            _ => self.http.delete(&url),
        };
        let mut builder = builder.header("X-Auth-Token", token.expose());
        if let Some(body) = body {
            builder = builder.json(&body);
        }
        let transport = |source| KeystoneError::Transport {
            method,
            url: url.clone(),
            source,
        };
        let response = builder.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(transport)?;
        if !ok.contains(&status) {
            return Err(KeystoneError::Status {
                method,
                url,
                status,
                body: text,
            });
        }
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|e| KeystoneError::Unexpected(format!("{method} {url}: {e}")))?
        };
        Ok((status, value))
    }

    fn id(value: &Value, pointer: &str) -> Result<String, KeystoneError> {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| KeystoneError::Unexpected(format!("no {pointer} in {value}")))
    }

    /// The id of the domain named `name`.
    pub async fn domain_id(&self, name: &str) -> Result<String, KeystoneError> {
        let (_, found) = self
            .send(
                "GET",
                &format!("/domains?name={}", query(name)),
                None,
                &[200],
            )
            .await?;
        Self::id(&found, "/domains/0/id")
            .map_err(|_| KeystoneError::Unexpected(format!("no domain named {name:?}")))
    }

    /// The id of the role named `name`.
    pub async fn role_id(&self, name: &str) -> Result<String, KeystoneError> {
        let (_, found) = self
            .send("GET", &format!("/roles?name={}", query(name)), None, &[200])
            .await?;
        Self::id(&found, "/roles/0/id")
            .map_err(|_| KeystoneError::Unexpected(format!("no role named {name:?}")))
    }

    /// Creates a project; returns its id.
    pub async fn create_project(
        &self,
        name: &str,
        domain_id: &str,
        description: &str,
    ) -> Result<String, KeystoneError> {
        let body =
            json!({"project": {"name": name, "domain_id": domain_id, "description": description}});
        let (_, created) = self.send("POST", "/projects", Some(body), &[201]).await?;
        Self::id(&created, "/project/id")
    }

    /// Creates a user whose default project is `project_id`; returns its id.
    pub async fn create_user(
        &self,
        name: &str,
        password: &Secret,
        domain_id: &str,
        project_id: &str,
    ) -> Result<String, KeystoneError> {
        let body = json!({"user": {
            "name": name,
            "password": password.expose(),
            "domain_id": domain_id,
            "default_project_id": project_id,
        }});
        let (_, created) = self.send("POST", "/users", Some(body), &[201]).await?;
        Self::id(&created, "/user/id")
    }

    /// Gives `user_id` the role `role_id` on `project_id`.
    pub async fn assign_project_role(
        &self,
        project_id: &str,
        user_id: &str,
        role_id: &str,
    ) -> Result<(), KeystoneError> {
        let path = format!("/projects/{project_id}/users/{user_id}/roles/{role_id}");
        self.send("PUT", &path, None, &[200, 201, 204]).await?;
        Ok(())
    }

    /// Deletes a user; one already gone counts as deleted.
    pub async fn delete_user(&self, user_id: &str) -> Result<(), KeystoneError> {
        self.send("DELETE", &format!("/users/{user_id}"), None, &[204, 404])
            .await?;
        Ok(())
    }

    /// Deletes a project; one already gone counts as deleted.
    pub async fn delete_project(&self, project_id: &str) -> Result<(), KeystoneError> {
        self.send(
            "DELETE",
            &format!("/projects/{project_id}"),
            None,
            &[204, 404],
        )
        .await?;
        Ok(())
    }

    /// Whether the project exists.
    pub async fn project_exists(&self, project_id: &str) -> Result<bool, KeystoneError> {
        let (status, _) = self
            .send("GET", &format!("/projects/{project_id}"), None, &[200, 404])
            .await?;
        Ok(status == 200)
    }

    /// Whether the user exists.
    pub async fn user_exists(&self, user_id: &str) -> Result<bool, KeystoneError> {
        let (status, _) = self
            .send("GET", &format!("/users/{user_id}"), None, &[200, 404])
            .await?;
        Ok(status == 200)
    }

    /// The ids of the projects whose name starts with `prefix`.
    pub async fn projects_named(&self, prefix: &str) -> Result<Vec<String>, KeystoneError> {
        let (_, listed) = self.send("GET", "/projects", None, &[200]).await?;
        Ok(listed
            .get("projects")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|p| {
                p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.starts_with(prefix))
            })
            .filter_map(|p| p.get("id").and_then(Value::as_str).map(str::to_owned))
            .collect())
    }
}

fn query(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
