"""Glance (the image API) served as WSGI on SQLite, with a file store and one tiny image.

The fake virt driver boots from the image without reading it, so a 21-byte raw image does.
"""

from __future__ import annotations

from .config import ETC_DIR, LOG_DIR, STATE_DIR, VENV_DIR, ServicesError, Service, Settings, \
    render_ini, sqlite_url
from .keystone import keystone_authtoken
from .util import expect, http, run_logged

STATE = STATE_DIR / "glance"
IMAGE_NAME = "squall-tiny"
IMAGE_DATA = b"squall test image \x00\x01\n"


def config(settings: Settings) -> dict[str, str]:
    """glance-api.conf and the package's paste file."""
    conf = {
        "DEFAULT": {
            "debug": False,
            "enabled_backends": "fs:file",
            "bind_host": "127.0.0.1",
            "bind_port": settings.glance_port,
            "public_endpoint": settings.image_url,
        },
        "database": {"connection": sqlite_url(STATE / "glance.db")},
        "glance_store": {"default_backend": "fs"},
        "fs": {"filesystem_store_datadir": STATE / "images"},
        "os_glance_staging_store": {"filesystem_store_datadir": STATE / "staging"},
        "os_glance_tasks_store": {"filesystem_store_datadir": STATE / "tasks"},
        "paste_deploy": {"flavor": "keystone",
                         "config_file": ETC_DIR / "glance" / "glance-api-paste.ini"},
        "keystone_authtoken": keystone_authtoken(settings),
        "oslo_concurrency": {"lock_path": STATE / "locks"},
        "oslo_messaging_notifications": {"driver": "noop"},
    }
    return {"glance-api.conf": render_ini(conf), "glance-api-paste.ini": paste()}


def paste() -> str:
    """The glance-api-paste.ini shipped with Glance, read from the venv."""
    candidate = VENV_DIR / "etc" / "glance" / "glance-api-paste.ini"
    if candidate.is_file():
        return candidate.read_text()
    raise ServicesError(f"cannot find Glance's paste file under {VENV_DIR}")


def service(settings: Settings, with_config: bool) -> Service:
    """The Glance API under gunicorn."""
    return Service("glance", settings.glance_port, "/", config(settings) if with_config else {},
                   "squall_wsgi_glance:application", "OS_GLANCE_CONFIG_DIR")


def init(settings: Settings) -> None:
    """Glance's database and store folders."""
    del settings
    for folder in ("images", "staging", "tasks", "locks"):
        (STATE / folder).mkdir(parents=True, exist_ok=True)
    run_logged([str(VENV_DIR / "bin" / "glance-manage"), "--config-file",
                str(ETC_DIR / "glance" / "glance-api.conf"), "db_sync"],
               LOG_DIR / "init-glance.log")


def ensure_image(settings: Settings, token: str) -> str:
    """The tiny raw image, uploaded once and active; returns its id."""
    headers = {"X-Auth-Token": token}
    base = f"{settings.image_url}/v2/images"
    found = expect(http("GET", f"{base}?name={IMAGE_NAME}", headers=headers), (200,),
                   "listing images").json()["images"]
    active = [image for image in found if image["status"] == "active"]
    if active:
        return active[0]["id"]
    for image in found:  # a half-made one from an interrupted run
        http("DELETE", f"{base}/{image['id']}", headers=headers)
    created = expect(http("POST", base, headers=headers, body={
        "name": IMAGE_NAME, "disk_format": "raw", "container_format": "bare",
        "visibility": "public", "min_disk": 0, "min_ram": 0}), (201,), "creating the image")
    image_id = created.json()["id"]
    expect(http("PUT", f"{base}/{image_id}/file", raw=IMAGE_DATA,
                headers={**headers, "Content-Type": "application/octet-stream"}),
           (204,), "uploading the image")
    return image_id
