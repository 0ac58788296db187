"""Prints the metric families of a real worker app as JSON (run as a module, from the repo root)."""

from __future__ import annotations

import asyncio
import json
import sys


def main() -> None:
    # Faust needs a loop to build the app; nothing connects until the app starts, so unreachable
    # addresses are fine: this only builds the worker exactly as `roompulse worker` does.
    asyncio.set_event_loop(asyncio.new_event_loop())
    from streams.settings import KafkaSettings, RedisSettings, TopicSettings
    from streams.worker.app import create_app
    from tests.deploy.exported import families

    app = create_app(KafkaSettings(bootstrap="127.0.0.1:9"),
                     RedisSettings(url="redis://127.0.0.1:9/0"), TopicSettings())
    fams = families(app.roompulse.registry)
    json.dump([{"name": f.name, "type": f.type, "labels": sorted(f.labels)}
               for f in fams.values()], sys.stdout)


if __name__ == "__main__":
    main()
