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

What `up` brings up, all on 127.0.0.1 (the code is in ``scripts/squall_services/``):

* RabbitMQ (Debian's rabbitmq-server; its epmd as a service of its own) and a
  private MariaDB, both installed with apt-get on first use;
* Keystone (identity), served by gunicorn, with fernet tokens, on SQLite;
* Placement, served by gunicorn, behind keystonemiddleware, on SQLite;
* Glance, served by gunicorn, on SQLite with a file store, holding one tiny
  raw image;
* Neutron (the real API: ML2 with no agents and no mechanism driver), served
  by gunicorn, on MariaDB; Nova's server views ask it for ports;
* Nova: the API (gunicorn), nova-conductor, nova-scheduler and two
  nova-compute services (``fake.FakeDriverWithoutFakeNodes``) on the hosts
  ``squall-compute-1`` and ``squall-compute-2``, on MariaDB, over RabbitMQ;
  cell_v2 is set up, both hosts are discovered, and two flavors that fit the
  fake driver exist.  Servers boot with ``networks: none`` (2.37+): no
  mechanism driver binds ports;
* Ironic standalone (API and conductor in one process), with the fake-hardware
  driver and no authentication, on SQLite;
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
has a region ``RegionTwo`` with endpoints for every service
(public: ``http://localhost:PORT...``; internal: ``http://127.0.0.1:PORT...``,
so a test can tell region and interface apart), an application credential
``squall`` of the admin user, and the admin role for the admin user on the
system and on the Default domain, and the ``service`` role on its project (Nova
forwards its token to Neutron as a service token).  cloud.json gains ``short_auth_url``,
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
* ``SQUALL_RABBIT_PORT``, ``SQUALL_EPMD_PORT``, ``SQUALL_RABBIT_DIST_PORT``,
  ``SQUALL_MARIADB_PORT``, ``SQUALL_GLANCE_PORT``, ``SQUALL_NEUTRON_PORT``:
  defaults 15006 to 15011 (epmd's port is passed as ``ERL_EPMD_PORT``, so two
  clouds on one machine do not share a broker);
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
