#!/usr/bin/env python3
"""Run real OpenStack services on this machine for squall's integration tests.

Usage::

    python3 scripts/services.py up       # install, initialise, start, verify
    python3 scripts/services.py down     # stop everything started by `up`
    python3 scripts/services.py status   # which services answer (exit 1 if any is down)
    python3 scripts/services.py env      # shell exports pointing at the generated cloud files
    python3 scripts/services.py lock     # rewrite scripts/services/constraints.txt from the venv
    python3 scripts/services.py memory   # resident memory of each running service
    python3 scripts/services.py stop nova-compute-1    # stop / start one service by name
    python3 scripts/services.py start nova-compute-1

What `up` brings up, all on 127.0.0.1 and on SQLite:

* Keystone (identity), served by gunicorn, with fernet tokens;
* Placement, served by gunicorn, behind keystonemiddleware;
* the Nova compute API alone (no scheduler, conductor or compute), served by
  gunicorn, behind keystonemiddleware;
* Ironic standalone (API and conductor in one process), with the fake-hardware
  driver and no authentication;
* auxiliary services for the ServiceClients tests (issue 5), left out of the
  state fingerprint so that they never force a re-initialisation:

  - ``keystone-short``: a second Keystone process on the same database and
    keys whose tokens live ``SQUALL_SHORT_TOKEN_EXPIRATION`` seconds (default
    20), so that a token-renewal test can outlive its token without touching
    the Keystone every other test uses;
  - ``tls-proxy``: an HTTPS reverse proxy in front of Placement, with a CA and
    a server certificate (for 127.0.0.1 and localhost) generated on its first
    start under ``state/tls/`` (Python ``cryptography`` from the venv).

After the services answer, `up` also makes sure (idempotently) that Keystone
has a region ``RegionTwo`` with endpoints for compute, placement and baremetal
(public: ``http://localhost:PORT...``; internal: ``http://127.0.0.1:PORT...``,
so a test can tell region and interface apart), an application credential
``squall`` of the admin user, and the admin role for the admin user on the
system and on the Default domain.  cloud.json gains ``short_auth_url``,
``tls`` (``url``, ``ca``), ``application_credential`` (``id``, ``secret``) and
``regions``.

Everything lives under ``target/squall-services/`` in the repository:

* ``venv/``: the services' virtualenv (installed once per set of pins);
* ``state/``: databases and keys, initialised once per configuration hash;
* ``etc/``: the configuration files, rewritten on every `up`;
* ``logs/<service>.log`` and ``run/<service>.pid``;
* ``cloud.json`` and ``clouds.yaml``: how a client reaches the cloud.

The script uses the Python standard library only.  Environment variables:

* ``SQUALL_KEYSTONE_PORT``, ``SQUALL_PLACEMENT_PORT``, ``SQUALL_NOVA_PORT``,
  ``SQUALL_IRONIC_PORT``: listening ports (defaults 15000 to 15003);
* ``SQUALL_TOKEN_EXPIRATION``: Keystone token lifetime in seconds (default
  3600); changing it only rewrites keystone.conf and restarts Keystone;
* ``SQUALL_KEYSTONE_SHORT_PORT`` (default 15004), ``SQUALL_TLS_PORT``
  (default 15005), ``SQUALL_SHORT_TOKEN_EXPIRATION`` (default 20): the
  auxiliary services above;
* ``SQUALL_SERVICE_WORKERS``: gunicorn worker processes for Placement and
  Nova (1 or 2, default 1: on two cores every extra worker adds seconds to
  each start);
* ``SQUALL_SERVICE_THREADS``: threads per gunicorn worker for Placement and
  Nova (default 1);
* ``SQUALL_SERVICES_TIMEOUT``: seconds to wait for the services to answer
  (default 120).

Keystone always runs one single-threaded worker: its in-process cache (which
makes it some 30 times faster) is only coherent within one process, and its
lazily built policy enforcer is not thread-safe (with threads, a token
validation right after a start was seen to fail with 403 now and then).

`up` is idempotent: with everything answering it only prints the status; a
service whose configuration or command line changed is restarted; the
venv and the state are rebuilt only when the pins or the configuration that
shaped them change.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from squall_services.cloud import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
