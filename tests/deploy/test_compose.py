"""deploy/docker-compose.yml: valid Compose, and every name in it means something here.

No Docker engine runs here, so the stack is never started: the file is validated against the
Compose specification (check-jsonschema's vendored schema), and what it refers to — roompulse
commands, settings, mounted files, Prometheus targets, the Grafana datasource, the secrets
script — is checked against the repository. Apache Kafka, Redis, Prometheus and Grafana images
themselves are not exercised.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from streams.configdoc import SECTIONS
from streams.settings import KafkaSettings
from tests.deploy.container import image_env, parses
from tests.deploy.files import DEPLOY, GRAFANA, PROM, load_yaml, promtool

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
SECRETS_SH = DEPLOY / "secrets.sh"


def _check_jsonschema() -> str | None:
    beside = Path(sys.executable).parent / "check-jsonschema"  # the venv's, if not on PATH
    return shutil.which("check-jsonschema") or (str(beside) if beside.exists() else None)


needs_check_jsonschema = pytest.mark.skipif(
    _check_jsonschema() is None,
    reason="check-jsonschema not installed (PyPI; in the `test` extra, so .ci/run installs it)")


def _compose() -> dict:
    return load_yaml(COMPOSE_FILE)


def _services() -> dict[str, dict]:
    return _compose()["services"]


def _roompulse_services() -> dict[str, dict]:
    return {n: s for n, s in _services().items() if s.get("image", "").startswith("roompulse:")}


def _workers() -> dict[str, dict]:
    return {n: s for n, s in _roompulse_services().items() if s["command"] == ["worker"]}


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_check_jsonschema(), "--builtin-schema", "vendor.compose-spec",
                           str(path)], capture_output=True, text=True, timeout=120, check=False)


@needs_check_jsonschema
def test_the_compose_file_follows_the_compose_specification() -> None:
    r = _validate(COMPOSE_FILE)
    assert r.returncode == 0, r.stdout + r.stderr


@needs_check_jsonschema
def test_the_validator_rejects_a_broken_compose_file(tmp_path: Path) -> None:
    """The same file with one service misspelt: the schema check is not a formality."""
    broken = _compose()
    broken["services"]["redis"]["healthcheck"]["intervall"] = "5s"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    r = _validate(tmp_path / "broken.yml")
    assert r.returncode != 0 and "intervall" in r.stdout + r.stderr


def test_the_stack_has_what_the_issue_asks_for() -> None:
    services = _services()
    kafka = services["kafka"]
    assert kafka["image"].startswith("apache/kafka:") and ":latest" not in kafka["image"]
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in k for k in kafka["environment"]), "KRaft, no ZooKeeper"
    assert "--appendonly yes" in " ".join(services["redis"]["command"])
    assert len(_workers()) == 2
    topics = services["topics"]
    assert topics["command"] == ["topics", "create"] and topics["restart"] == "no"
    assert any(v.startswith("./prometheus:") for v in services["prometheus"]["volumes"])
    assert any(v.startswith("./grafana/provisioning:") for v in services["grafana"]["volumes"])
    assert services["simulator"]["profiles"] == ["demo"]
    assert services["simulator"]["command"][0] == "simulate"
    for name, service in services.items():
        assert ":latest" not in service["image"] and ":" in service["image"], name


def test_every_roompulse_command_parses() -> None:
    for name, service in _roompulse_services().items():
        assert parses(service["command"]), f"{name}: roompulse {service['command']}"


def _known_variables() -> set[str]:
    names = set()
    for _, cls in SECTIONS:
        prefix = cls.model_config.get("env_prefix", "")
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields}
    return names


def test_every_roompulse_variable_is_a_setting() -> None:
    """A misspelt variable is silently ignored by the worker: catch it here. *_FILE variables
    of secrets are turned into the setting by deploy/entrypoint.sh."""
    known = _known_variables()
    for name, service in _roompulse_services().items():
        for var in service["environment"]:
            assert var in known or var.removesuffix("_FILE") in known, f"{name}: {var}"


def test_workers_wait_for_their_dependencies_and_stop_gracefully() -> None:
    session_s = KafkaSettings().session_timeout_ms / 1000
    for name, worker in _workers().items():
        assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
        assert worker["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
        grace = worker["stop_grace_period"]
        assert grace.endswith("s") and float(grace[:-1]) > session_s, name


def test_every_mounted_path_exists() -> None:
    for name, service in _services().items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name}: {volume}"
    for name, entry in _compose()["secrets"].items():
        assert entry["file"].startswith("./secrets/"), name  # made by deploy/secrets.sh


def test_prometheus_finds_exactly_the_worker_services() -> None:
    port = image_env()["ROOMPULSE_WORKER_WEB_PORT"]
    listed = {t for group in load_yaml(PROM / "compose-targets" / "workers.yml")
              for t in group["targets"]}
    assert listed == {f"{name}:{port}" for name in _workers()}
    for worker in _workers().values():  # the published ports map to that container port
        assert all(p.endswith(f":{port}") for p in worker["ports"])
    mounts = _services()["prometheus"]["volumes"]
    assert "./prometheus/compose-targets:/etc/prometheus/targets:ro" in mounts
    (job,) = [j for j in load_yaml(PROM / "prometheus.yml")["scrape_configs"]
              if j["job_name"] == "roompulse-worker"]
    assert job["file_sd_configs"][0]["files"] == ["targets/*.yml"]


@pytest.mark.skipif(promtool() is None, reason="promtool not installed (Debian: apt-get install "
                                               "prometheus; .ci/run installs it)")
def test_promtool_accepts_the_prometheus_directory_as_compose_mounts_it(tmp_path: Path) -> None:
    etc = tmp_path / "etc-prometheus"
    shutil.copytree(PROM, etc)
    shutil.rmtree(etc / "targets")
    shutil.copytree(PROM / "compose-targets", etc / "targets")
    r = subprocess.run([promtool(), "check", "config", "prometheus.yml"], cwd=etc,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_grafana_datasource_differs_only_in_the_prometheus_url() -> None:
    shipped = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yml")
    compose = load_yaml(GRAFANA / "compose-datasources" / "prometheus.yml")
    (ours,) = compose["datasources"]
    assert ours.pop("url") == "http://prometheus:9090"
    assert "--web.listen-address=:9090" in _services()["prometheus"]["command"]
    shipped["datasources"][0].pop("url")
    assert compose == shipped


def test_the_secrets_script_makes_every_secret_once(tmp_path: Path) -> None:
    target = tmp_path / "secrets"
    first = subprocess.run(["bash", str(SECRETS_SH), str(target)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert first.returncode == 0, first.stderr
    wanted = {Path(e["file"]).name for e in _compose()["secrets"].values()}
    made = {p.name: p.read_text() for p in target.iterdir() if p.name != ".gitignore"}
    assert set(made) == wanted
    assert all(len(v.strip()) >= 32 for v in made.values())
    assert made["console_operators"].startswith("admin:")
    assert (target / ".gitignore").read_text() == "*\n"
    assert target.stat().st_mode & 0o077 == 0, "the directory is private"
    again = subprocess.run(["bash", str(SECRETS_SH), str(target)], capture_output=True,
                           text=True, timeout=60, check=False)
    assert again.returncode == 0
    assert {p.name: p.read_text() for p in target.iterdir() if p.name != ".gitignore"} == made


def test_the_console_accepts_state_changes_from_every_published_worker_port(monkeypatch) -> None:
    """The console refuses acks and silences from other origins; each worker is published on
    its own host port, so every one of them must be allowed (and the value must parse)."""
    from streams.console.settings import ConsoleSettings

    for name, worker in _workers().items():
        monkeypatch.setenv("ROOMPULSE_CONSOLE_ALLOWED_ORIGINS",
                           worker["environment"]["ROOMPULSE_CONSOLE_ALLOWED_ORIGINS"])
        allowed = set(ConsoleSettings().allowed_origins)
        for published in (w for s in _workers().values() for w in s["ports"]):
            host, port, _ = published.split(":")
            assert f"http://{host}:{port}" in allowed, (name, published)
