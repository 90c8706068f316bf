"""Run a small real OpenStack cloud on this machine for squall's integration tests.

``scripts/services.py`` is the entry point (``up``, ``down``, ``status``, ``env``, ``lock``,
``memory``, ``start NAME``, ``stop NAME``); see its docstring for what runs and where.  The
modules: :mod:`config` (paths, pins, settings), :mod:`util`, :mod:`venv`, :mod:`procs`
(processes by pid), one module per service (:mod:`keystone`, :mod:`placement`, :mod:`glance`,
:mod:`neutron`, :mod:`nova`, :mod:`ironic`, :mod:`rabbit`, :mod:`mariadb`), :mod:`apt`
(Debian packages), :mod:`tls_proxy` (run as a script) and :mod:`cloud` (the whole and the
commands).  Standard library only.
"""
