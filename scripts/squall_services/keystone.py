"""Keystone: its configuration, state, tokens, the catalog and the extras the tests use."""

from __future__ import annotations

import grp
import os
import pwd
import time

from .config import ADMIN_PASSWORD, ADMIN_PROJECT, ADMIN_ROLE, ADMIN_USER, DEFAULT_DOMAIN, \
    INTERFACES, HOST, LOG_DIR, REGION, STATE_DIR, VENV_DIR, ServicesError, Service, Settings, \
    render_ini, sqlite_url
from .procs import start_service, wait_until_answering
from .util import expect, http, run_logged

def keystone_authtoken(settings: Settings) -> dict[str, object]:
    """The ``[keystone_authtoken]`` section shared by Nova and Placement.

    keystonemiddleware validates incoming tokens with a password session of
    the admin user.  Its token cache is off (no memcached, and the in-process
    cache would keep accepting a revoked token for minutes): every request is
    validated by Keystone, which takes a few milliseconds.
    """
    return {
        "www_authenticate_uri": settings.identity_url,
        "auth_url": settings.identity_url,
        "auth_type": "password",
        "username": ADMIN_USER,
        "password": ADMIN_PASSWORD,
        "project_name": ADMIN_PROJECT,
        "user_domain_name": DEFAULT_DOMAIN,
        "project_domain_name": DEFAULT_DOMAIN,
        "region_name": REGION,
        "http_connect_timeout": 10,
        "http_request_max_retries": 3,
        "token_cache_time": -1,
    }


def keystone_service_credentials(settings: Settings) -> dict[str, object]:
    """Credentials Nova uses to talk to Placement (as the admin user)."""
    section = {
        key: value
        for key, value in keystone_authtoken(settings).items()
        if key in ("auth_url", "auth_type", "username", "password", "project_name",
                   "user_domain_name", "project_domain_name", "region_name")
    }
    section["valid_interfaces"] = "public"
    return section


def keystone_config(settings: Settings, expiration: int | None = None) -> dict[str, str]:
    """Keystone's configuration folder (``expiration`` overrides the token lifetime)."""
    state = STATE_DIR / "keystone"
    conf = {
        "DEFAULT": {"debug": False},
        "database": {"connection": sqlite_url(state / "keystone.db")},
        "token": {"provider": "fernet",
                  "expiration": expiration or settings.token_expiration},
        "fernet_tokens": {"key_repository": state / "fernet-keys"},
        "fernet_receipts": {"key_repository": state / "fernet-keys"},
        "credential": {"key_repository": state / "credential-keys"},
        # bcrypt's minimum cost: every password authentication (each token
        # a test asks for) would otherwise spend a quarter second hashing.
        "identity": {"password_hash_rounds": 4},
        "cache": keystone_cache(),
    }
    return {"keystone.conf": render_ini(conf)}


def keystone_cache() -> dict[str, object]:
    """Keystone's ``[cache]`` section: an in-process cache.

    Without a cache Keystone runs some 300 SQL queries to validate one token
    (half a second on this machine).  An in-process cache is only coherent
    within one process: Keystone runs a single gunicorn worker.
    """
    return {
        "enabled": True,
        "backend": "oslo_cache.dict",
        "backend_argument": "expiration_time:600",
        "expiration_time": 600,
    }





def get_token(settings: Settings) -> tuple[str, dict]:
    """A project-scoped admin token and the token body."""
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": ADMIN_USER,
                        "domain": {"name": DEFAULT_DOMAIN},
                        "password": ADMIN_PASSWORD,
                    }
                },
            },
            "scope": {
                "project": {"name": ADMIN_PROJECT, "domain": {"name": DEFAULT_DOMAIN}}
            },
        }
    }
    response = expect(http("POST", f"{settings.identity_url}/auth/tokens", body=body),
                      (201,), "Keystone token request")
    token = response.headers.get("X-Subject-Token")
    if not token:
        raise ServicesError("Keystone answered without an X-Subject-Token header")
    return token, response.json()["token"]


def catalog_entries(settings: Settings) -> list[dict[str, str]]:
    """The services registered in the catalog besides identity."""
    return [
        {"type": "compute", "name": "nova", "url": settings.compute_url},
        {"type": "placement", "name": "placement", "url": settings.placement_url},
        {"type": "baremetal", "name": "ironic", "url": settings.baremetal_url},
        {"type": "image", "name": "glance", "url": settings.image_url},
        {"type": "network", "name": "neutron", "url": settings.network_url},
    ]


def register_catalog(settings: Settings) -> None:
    """Create the services and their endpoints in Keystone, idempotently."""
    token, _ = get_token(settings)
    headers = {"X-Auth-Token": token}
    base = settings.identity_url
    for entry in catalog_entries(settings):
        listing = expect(http("GET", f"{base}/services?type={entry['type']}", headers=headers),
                         (200,), f"listing {entry['type']} services").json()
        matches = [s for s in listing["services"] if s.get("name") == entry["name"]]
        if matches:
            service_id = matches[0]["id"]
        else:
            created = http("POST", f"{base}/services", headers=headers, body={
                "service": {"type": entry["type"], "name": entry["name"], "enabled": True}})
            service_id = expect(created, (201,), f"creating the {entry['type']} service"
                                ).json()["service"]["id"]
        endpoints = expect(http("GET", f"{base}/endpoints?service_id={service_id}",
                                headers=headers), (200,), "listing endpoints").json()
        for interface in INTERFACES:
            existing = [e for e in endpoints["endpoints"]
                        if e["interface"] == interface and e.get("region_id") == REGION]
            if existing:
                if existing[0]["url"] != entry["url"]:
                    expect(http("PATCH", f"{base}/endpoints/{existing[0]['id']}",
                                headers=headers, body={"endpoint": {"url": entry["url"]}}),
                           (200,), f"updating the {interface} {entry['type']} endpoint")
                continue
            expect(http("POST", f"{base}/endpoints", headers=headers, body={"endpoint": {
                "service_id": service_id, "interface": interface, "region_id": REGION,
                "url": entry["url"], "enabled": True}}),
                (201,), f"creating the {interface} {entry['type']} endpoint")


REGION_TWO = "RegionTwo"
APP_CRED_NAME = "squall"
APP_CRED_SECRET = "squall-appcred-secret"


def region_two_url(url: str, interface: str) -> str:
    """RegionTwo's URL for an interface: public via ``localhost``, internal via the IP."""
    return url.replace(HOST, "localhost") if interface == "public" else url


def ensure_extras(settings: Settings) -> dict[str, object]:
    """RegionTwo endpoints, an application credential, system and domain roles (idempotent).

    Returns what cloud.json tells the tests about them.
    """
    token, body = get_token(settings)
    headers = {"X-Auth-Token": token}
    base = settings.identity_url
    user_id = body["user"]["id"]
    if http("GET", f"{base}/regions/{REGION_TWO}", headers=headers).status == 404:
        expect(http("POST", f"{base}/regions", headers=headers,
                    body={"region": {"id": REGION_TWO}}), (201,), "creating RegionTwo")
    for entry in catalog_entries(settings):
        listing = expect(http("GET", f"{base}/services?type={entry['type']}", headers=headers),
                         (200,), f"listing {entry['type']} services").json()
        matches = [s for s in listing["services"] if s.get("name") == entry["name"]]
        if not matches:
            raise ServicesError(f"the {entry['type']} service is not in the catalog")
        service_id = matches[0]["id"]
        endpoints = expect(http("GET", f"{base}/endpoints?service_id={service_id}",
                                headers=headers), (200,), "listing endpoints").json()
        for interface in ("public", "internal"):
            url = region_two_url(entry["url"], interface)
            existing = [e for e in endpoints["endpoints"]
                        if e["interface"] == interface and e.get("region_id") == REGION_TWO]
            if existing:
                if existing[0]["url"] != url:
                    expect(http("PATCH", f"{base}/endpoints/{existing[0]['id']}",
                                headers=headers, body={"endpoint": {"url": url}}),
                           (200,), f"updating a {REGION_TWO} endpoint")
                continue
            expect(http("POST", f"{base}/endpoints", headers=headers, body={"endpoint": {
                "service_id": service_id, "interface": interface, "region_id": REGION_TWO,
                "url": url, "enabled": True}}), (201,), f"creating a {REGION_TWO} endpoint")
    roles = expect(http("GET", f"{base}/roles?name={ADMIN_ROLE}", headers=headers), (200,),
                   "listing roles").json()["roles"]
    role_id = roles[0]["id"]
    # Nova forwards its token to Neutron as a service token, and keystonemiddleware wants
    # the service role on it: grant Keystone's bootstrap role to the admin on its project.
    service_roles = expect(http("GET", f"{base}/roles?name=service", headers=headers), (200,),
                           "listing roles").json()["roles"]
    if not service_roles:
        raise ServicesError("Keystone has no `service` role")
    project_id = body["project"]["id"]
    expect(http("PUT", f"{base}/projects/{project_id}/users/{user_id}/roles/"
                       f"{service_roles[0]['id']}", headers=headers), (201, 204),
           "granting the service role on the admin project")
    expect(http("PUT", f"{base}/system/users/{user_id}/roles/{role_id}", headers=headers),
           (201, 204), "granting the admin role on the system")
    expect(http("PUT", f"{base}/domains/default/users/{user_id}/roles/{role_id}",
                headers=headers), (201, 204), "granting the admin role on the Default domain")
    creds = expect(http("GET", f"{base}/users/{user_id}/application_credentials"
                               f"?name={APP_CRED_NAME}", headers=headers),
                   (200,), "listing application credentials").json()["application_credentials"]
    if creds:
        app_cred_id = creds[0]["id"]
    else:
        created = expect(http("POST", f"{base}/users/{user_id}/application_credentials",
                              headers=headers, body={"application_credential": {
                                  "name": APP_CRED_NAME, "secret": APP_CRED_SECRET,
                                  "description": "squall ServiceClients tests"}}),
                         (201,), "creating the application credential").json()
        app_cred_id = created["application_credential"]["id"]
    return {
        "short_auth_url": settings.short_identity_url,
        "short_token_expiration": settings.short_token_expiration,
        "tls": {"url": settings.tls_url, "ca": str(STATE_DIR / "tls" / "ca.pem")},
        "application_credential": {"id": app_cred_id, "secret": APP_CRED_SECRET},
        "user_id": user_id,
        "regions": {
            REGION_TWO: {
                entry["type"]: {interface: region_two_url(entry["url"], interface)
                                for interface in ("public", "internal")}
                for entry in catalog_entries(settings)
            }
        },
    }





def init_keystone(settings: Settings, keystone: Service) -> None:
    """Keys, database, bootstrap; then start Keystone and fill the catalog."""
    log = LOG_DIR / "init-keystone.log"
    state = STATE_DIR / "keystone"
    for folder in ("fernet-keys", "credential-keys"):
        (state / folder).mkdir(mode=0o700, parents=True, exist_ok=True)
    manage = [str(VENV_DIR / "bin" / "keystone-manage"),
              "--config-file", str(keystone.config_dir / "keystone.conf")]
    owner = ["--keystone-user", pwd.getpwuid(os.getuid()).pw_name,
             "--keystone-group", grp.getgrgid(os.getgid()).gr_name]
    run_logged(manage + ["db_sync"], log)
    run_logged(manage + ["fernet_setup", *owner], log)
    run_logged(manage + ["credential_setup", *owner], log)
    run_logged(manage + [
        "bootstrap",
        "--bootstrap-password", ADMIN_PASSWORD,
        "--bootstrap-username", ADMIN_USER,
        "--bootstrap-project-name", ADMIN_PROJECT,
        "--bootstrap-role-name", ADMIN_ROLE,
        "--bootstrap-service-name", "keystone",
        "--bootstrap-region-id", REGION,
        "--bootstrap-admin-url", settings.identity_url,
        "--bootstrap-internal-url", settings.identity_url,
        "--bootstrap-public-url", settings.identity_url,
    ], log)
    start_service(keystone, settings)
    wait_until_answering([keystone], time.monotonic() + settings.wait_seconds)
    register_catalog(settings)


