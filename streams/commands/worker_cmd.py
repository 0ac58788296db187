"""`roompulse worker`: run the Faust KPI worker (starting the embedded stack when none is set)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from streams.settings import KafkaSettings, RedisSettings, TopicSettings
from streams.stack import start_stack

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("worker", help="run the KPI worker (Faust app + batched KPI loop)")
    p.add_argument("--web-port", type=int, default=None,
                   help="HTTP port of the KPI API and /metrics (default ROOMPULSE_WORKER_WEB_PORT "
                        "or 6066; 0 = any free port)")
    p.add_argument("--probe-port", type=int, default=None,
                   help="port of the probe server's /healthz and /readyz (default "
                        "ROOMPULSE_API_PROBE_PORT or the web port + 1; with --web-port 0, any "
                        "free port; 0 = none)")
    p.add_argument("--loglevel", default=None, help="debug, info, warning (default info)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from streams.kpi.config import KpiSettings
    from streams.kpi.negative import NegativeClassifier
    from streams.stack import free_port
    from streams.worker.apisettings import ApiSettings
    from streams.worker.app import create_app
    from streams.worker.config import WorkerSettings
    from streams.worker.errors import StartupError
    from streams.worker.preflight import check_port_free, check_redis, prepare_kafka
    from streams.worker.shutdown import DeadlineWorker, HardDeadline

    # Config files first: a bad one is one line and exit 1 before any server is started.
    NegativeClassifier.from_settings(KpiSettings())
    kafka, redis_settings = KafkaSettings(), RedisSettings()
    stack = None
    if kafka.bootstrap is None or redis_settings.url is None:
        stack = start_stack(kafka, redis_settings)
        kafka, redis_settings = stack.kafka, stack.redis
        print(f"roompulse: embedded stack: kafka {stack.bootstrap}"
              + (f", redis {stack.redis_url}" if stack.embedded_redis else ""),
              file=sys.stderr, flush=True)
    try:
        topics = TopicSettings()
        worker = WorkerSettings()
        # Both answer now, or one line naming the address and exit 1 (never a traceback).
        asyncio.run(prepare_kafka(kafka, topics, worker.start_timeout_s))
        asyncio.run(check_redis(redis_settings, worker.start_timeout_s))
        port = args.web_port if args.web_port is not None else worker.web_port
        worker = worker.model_copy(update={"web_port": port or free_port()})
        api = ApiSettings()
        probe = args.probe_port if args.probe_port is not None else api.probe_port
        if probe is None:  # next to the web port, or anywhere free when that one is anywhere
            probe = api.probe_port_for(worker.web_port) if port else free_port()
        api = api.model_copy(update={"probe_port": probe})
        check_port_free(worker.web_host, worker.web_port, "ROOMPULSE_WORKER_WEB_PORT")
        if probe == worker.web_port:
            raise StartupError(f"the probe port {probe} is the web port; set "
                               "ROOMPULSE_API_PROBE_PORT to another one (or 0: none)")
        if probe:
            check_port_free(worker.web_host, probe, "ROOMPULSE_API_PROBE_PORT")
        # A fresh loop: asyncio.run above closed the previous one; Faust and aiokafka need one.
        asyncio.set_event_loop(asyncio.new_event_loop())
        app = create_app(kafka, redis_settings, topics, worker, api=api)
        print(f"roompulse: worker web server on http://{worker.web_host}:{worker.web_port}"
              + (f", probes on :{probe} (/healthz, /readyz)" if probe else ""),
              file=sys.stderr, flush=True)
        level = args.loglevel or ("debug" if getattr(args, "verbose", False) else "info")
        deadline = HardDeadline(worker.shutdown_deadline_s)
        DeadlineWorker(app, loglevel=level, redirect_stdouts=False,
                       deadline=deadline).execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    finally:
        if stack is not None:
            stack.stop()
    return 0
