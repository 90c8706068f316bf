"""A stand-in for nova-compute's state reporting, for the whitebox tests.

The local Nova runs only its API (no message bus, conductor or hypervisor), so the real
nova-compute cannot run here. This small daemon does the one part of it the services API
sees: it registers a ``nova-compute`` service record for ``[DEFAULT] host`` in the cell
database with Nova's own objects, then bumps ``report_count`` every ``report_interval``
seconds, as Nova's database servicegroup driver does. The real Nova API then reports the
service ``up`` while this runs and ``down`` once ``service_down_time`` passes without a
report. It is started, stopped and restarted over SSH through the commands of the whitebox
inventory, and its config file is what the config-guard tests edit.

Run with the services' venv: python compute_heartbeat.py --config-file nova.conf
--config-file heartbeat.conf
"""

import signal
import sys
import time

from oslo_config import cfg

from nova import config
from nova import context
from nova import objects


def main() -> int:
    config.parse_args(sys.argv)
    objects.register_all()
    conf = cfg.CONF
    ctxt = context.get_admin_context()
    service = objects.Service.get_by_host_and_binary(ctxt, conf.host, "nova-compute")
    if service is None:
        service = objects.Service(ctxt, host=conf.host, binary="nova-compute",
                                  topic="compute")
        service.create()
    running = True

    def stop(_signum, _frame):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"started host={conf.host} report_interval={conf.report_interval}", flush=True)
    while running:
        service.report_count += 1
        service.save()
        deadline = time.monotonic() + conf.report_interval
        while running and time.monotonic() < deadline:
            time.sleep(0.2)
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
