"""deploy/k8s: strict schema validation (offline), and the manifests agree with the image, the
settings, the Prometheus config and the hot-reload code.

No cluster runs here: kubernetes-validate checks the manifests (and the ConfigMaps the
kustomization generates) against the Kubernetes OpenAPI schemas it ships; the ServiceMonitor,
whose CRD it does not know, is checked structurally. What is not tested: applying them to a
cluster, kustomize itself, the Prometheus Operator and prometheus-adapter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from alerts.reload import AlertConfig
from alerts.rules import DEFAULT_RULES, RulePack
from alerts.targets import DEFAULT_TARGETS, Targets
from streams.configdoc import SECTIONS
from streams.settings import KafkaSettings
from tests.deploy.container import image_env, parses, stages
from tests.deploy.exported import worker_families
from tests.deploy.files import DEPLOY, PROM, load_yaml, promtool

K8S = DEPLOY / "k8s"
KUSTOMIZATION = load_yaml(K8S / "kustomization.yaml")
NOT_RESOURCES = {"kustomization.yaml", "secret.example.yaml"}


def _kubernetes_validate() -> str | None:
    beside = Path(sys.executable).parent / "kubernetes-validate"
    return shutil.which("kubernetes-validate") or (str(beside) if beside.exists() else None)


needs_validator = pytest.mark.skipif(
    _kubernetes_validate() is None,
    reason="kubernetes-validate not installed (PyPI; in the `test` extra, so .ci/run installs it)")


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def _resources() -> dict[str, dict]:
    """kind -> the one object of that kind among the kustomization's resources."""
    out = {}
    for name in KUSTOMIZATION["resources"]:
        for doc in _docs(K8S / name):
            assert doc["kind"] not in out, f"two {doc['kind']}s"
            out[doc["kind"]] = doc
    return out


def _generated() -> list[dict]:
    """The ConfigMaps of configMapGenerator, as kustomize builds them (name hash aside)."""
    out = []
    for gen in KUSTOMIZATION["configMapGenerator"]:
        data = {Path(f).name: (K8S / f).read_text(encoding="utf-8") for f in gen.get("files", [])}
        data |= dict(lit.split("=", 1) for lit in gen.get("literals", []))
        out.append({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": gen["name"], "namespace": KUSTOMIZATION["namespace"]},
                    "data": data})
    return out


def _settings() -> dict[str, str]:
    (gen,) = [g for g in _generated() if g["metadata"]["name"] == "roompulse-settings"]
    return gen["data"]


def _pod() -> dict:
    return _resources()["Deployment"]["spec"]["template"]


def _container() -> dict:
    (container,) = _pod()["spec"]["containers"]
    return container


def _validate(*paths: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_kubernetes_validate(), "--strict", *map(str, paths)],
                          capture_output=True, text=True, timeout=300, check=False)


@needs_validator
def test_every_manifest_and_generated_configmap_validates_strictly(tmp_path: Path) -> None:
    generated = tmp_path / "generated.yaml"
    generated.write_text(yaml.safe_dump_all(_generated()))
    files = [K8S / n for n in KUSTOMIZATION["resources"]] + [K8S / "secret.example.yaml", generated]
    r = _validate(*files)
    assert r.returncode == 0, r.stdout + r.stderr
    documents = sum(len(_docs(f)) for f in files)
    assert r.stdout.count(" passed ") == documents, r.stdout  # none skipped as unknown


@needs_validator
def test_the_validator_rejects_a_misspelt_field(tmp_path: Path) -> None:
    deployment = _resources()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(deployment))
    r = _validate(tmp_path / "broken.yaml")
    assert r.returncode != 0 and "readinesProbe" in r.stdout + r.stderr


def test_the_kustomization_lists_every_manifest_and_its_files_exist() -> None:
    top = {p.name for p in K8S.glob("*.yaml")} - NOT_RESOURCES
    assert set(KUSTOMIZATION["resources"]) == top
    assert {"Namespace", "Deployment", "Service", "PodDisruptionBudget",
            "HorizontalPodAutoscaler"} <= set(_resources())
    for gen in KUSTOMIZATION["configMapGenerator"]:
        for f in gen.get("files", []):
            assert (K8S / f).is_file(), f
    for doc in _resources().values():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == KUSTOMIZATION["namespace"], doc["kind"]


def test_the_alert_config_is_the_shipped_defaults_and_loads() -> None:
    """The ConfigMap starts as alerts/defaults (edit it in an overlay); both load for real."""
    assert (K8S / "config" / "targets.yaml").read_bytes() == DEFAULT_TARGETS.read_bytes()
    assert (K8S / "config" / "rules.yaml").read_bytes() == DEFAULT_RULES.read_bytes()
    Targets.load(K8S / "config" / "targets.yaml")
    RulePack.load(K8S / "config" / "rules.yaml")


def test_replicas_never_exceed_the_partitions() -> None:
    partitions = int(_settings()["ROOMPULSE_TOPICS_PARTITIONS"])
    hpa = _resources()["HorizontalPodAutoscaler"]["spec"]
    replicas = _resources()["Deployment"]["spec"]["replicas"]
    assert hpa["minReplicas"] <= replicas <= hpa["maxReplicas"] <= partitions
    assert hpa["scaleTargetRef"]["name"] == _resources()["Deployment"]["metadata"]["name"]


def test_probes_resources_and_graceful_stop() -> None:
    c, spec = _container(), _pod()["spec"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] in ports, probe
    assert ports["http"] == int(image_env()["ROOMPULSE_WORKER_WEB_PORT"])
    assert int(_settings()["ROOMPULSE_WORKER_WEB_PORT"]) == ports["http"]
    # Liveness and readiness on the probe server's own port (not behind the event loop).
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert c[probe]["httpGet"]["port"] == "probe", probe
    assert ports["probe"] == int(image_env()["ROOMPULSE_API_PROBE_PORT"])
    assert int(_settings()["ROOMPULSE_API_PROBE_PORT"]) == ports["probe"]
    assert {"cpu", "memory"} <= set(c["resources"]["requests"])
    assert "memory" in c["resources"]["limits"]
    assert spec["terminationGracePeriodSeconds"] > KafkaSettings().session_timeout_ms / 1000 >= 10
    assert parses(c["args"])


def test_non_root_read_only_with_writable_tmp_and_workdir() -> None:
    spec, c = _pod()["spec"], _container()
    assert spec["securityContext"]["runAsNonRoot"] is True
    image_uid = int(stages()[-1].last("USER").args.split(":")[0])
    assert spec["securityContext"]["runAsUser"] == image_uid
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
    mounted = {m["mountPath"] for m in c["volumeMounts"] if m["name"] in empty}
    workdir = stages()[-1].last("WORKDIR").args
    assert {"/tmp", workdir} <= mounted, "the only places the worker writes"


def test_targets_and_rules_are_mounted_as_a_directory_so_updates_arrive() -> None:
    c, spec = _container(), _pod()["spec"]
    (volume,) = [v for v in spec["volumes"] if "configMap" in v]
    assert volume["configMap"]["name"] == "roompulse-alert-config"
    (gen,) = [g for g in KUSTOMIZATION["configMapGenerator"]
              if g["name"] == "roompulse-alert-config"]
    assert gen["options"]["disableNameSuffixHash"] is True, "a hashed name restarts the pods"
    (mount,) = [m for m in c["volumeMounts"] if m["name"] == volume["name"]]
    assert "subPath" not in mount, "subPath mounts never receive ConfigMap updates"
    env = {e["name"]: e.get("value") for e in c["env"]}
    files = {Path(f).name for f in gen["files"]}
    for var in ("ROOMPULSE_ALERTS_TARGETS", "ROOMPULSE_ALERTS_RULES"):
        path = Path(env[var])
        assert str(path.parent) == mount["mountPath"] and path.name in files, var


def _swap(root: Path, files: dict[str, str], n: int) -> None:
    """What the kubelet does on a ConfigMap update: a new timestamped directory, then an atomic
    rename of the `..data` symlink; the visible files are symlinks through `..data`."""
    new = root / f"..2026_12_01_{n:02d}"
    new.mkdir()
    for name, text in files.items():
        (new / name).write_text(text, encoding="utf-8")
    (root / "..data_tmp").symlink_to(new.name)
    os.replace(root / "..data_tmp", root / "..data")
    for name in files:
        if not (root / name).is_symlink():
            (root / name).symlink_to(f"..data/{name}")


def test_a_configmap_update_is_hot_reloaded_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    targets = (K8S / "config" / "targets.yaml").read_text(encoding="utf-8")
    rules = (K8S / "config" / "rules.yaml").read_text(encoding="utf-8")
    _swap(tmp_path, {"targets.yaml": targets, "rules.yaml": rules}, 1)
    config = AlertConfig(tmp_path / "targets.yaml", tmp_path / "rules.yaml")
    assert config.targets().file.stage == "conversion"
    assert not config.check()
    time.sleep(0.01)  # a new mtime even on coarse clocks
    edited = targets.replace("stage: conversion", "stage: traffic", 1)
    assert edited != targets
    _swap(tmp_path, {"targets.yaml": edited, "rules.yaml": rules}, 2)
    assert config.check() and config.targets().file.stage == "traffic"
    _swap(tmp_path, {"targets.yaml": edited.replace("version: 1", "version: 9"),
                     "rules.yaml": rules}, 3)
    config.check()  # the rewritten rules file reloads; the invalid targets file must not
    assert config.targets().file.stage == "traffic"
    assert "version" in config.errors["targets"]


def _secret_env_vars() -> set[str]:
    """Every secret setting that is read from the environment only (no *_file setting)."""
    out = set()
    for _, cls in SECTIONS:
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            if "SecretStr" in str(field.annotation) and f"{name}_file" not in cls.model_fields:
                out.add(f"{prefix}{name}".upper())
    return out


def test_every_secret_comes_from_the_secret_and_nothing_secret_is_plain() -> None:
    c = _container()
    refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"] if "valueFrom" in e}
    assert set(refs) == _secret_env_vars(), (
        "every secret setting is wired to the Secret in worker-deployment.yaml (and listed in "
        "secret.example.yaml); none is anything else")
    example = _docs(K8S / "secret.example.yaml")[0]
    example_text = (K8S / "secret.example.yaml").read_text(encoding="utf-8")
    for var, ref in refs.items():
        assert ref["name"] == example["metadata"]["name"]
        assert ref["key"] == var.removeprefix("ROOMPULSE_").lower().replace("_", "-")
        assert f"{ref['key']}:" in example_text, f"{ref['key']} missing from secret.example.yaml"
        if not ref.get("optional"):
            assert ref["key"] in example["stringData"], ref["key"]
    # *_FILE settings point at files of the mounted Secret.
    (volume,) = [v for v in _pod()["spec"]["volumes"] if "secret" in v]
    (mount,) = [m for m in c["volumeMounts"] if m["name"] == volume["name"]]
    items = {i["path"]: i["key"] for i in volume["secret"]["items"]}
    for e in c["env"]:
        if e["name"].endswith("_FILE"):
            path = Path(e["value"])
            assert str(path.parent) == mount["mountPath"] and path.name in items, e["name"]
            assert items[path.name] in example["stringData"]
    assert set(_settings()).isdisjoint(_secret_env_vars()), "secrets never in a ConfigMap"


def test_every_roompulse_variable_is_a_setting() -> None:
    known = {f"{cls.model_config.get('env_prefix', '')}{f}".upper()
             for _, cls in SECTIONS for f in cls.model_fields}
    names = [e["name"] for e in _container()["env"]] + list(_settings())
    assert [n for n in names if n.startswith("ROOMPULSE_") and n not in known] == []


def test_service_pdb_and_servicemonitor_select_the_worker_pods() -> None:
    labels = _pod()["metadata"]["labels"]
    res = _resources()
    assert res["Service"]["spec"]["selector"].items() <= labels.items()
    assert res["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (monitor,) = _docs(K8S / "optional" / "servicemonitor.yaml")
    assert monitor["kind"] == "ServiceMonitor"
    assert monitor["spec"]["selector"]["matchLabels"].items() <= res["Service"]["metadata"][
        "labels"].items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {p["name"] for p in res["Service"]["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # The Operator names the job after the Service: the one the rules select.
    assert res["Service"]["metadata"]["name"] == "roompulse-worker"
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [KUSTOMIZATION["namespace"]]


# ---- deploy/prometheus/kubernetes.yml: pod discovery keeps exactly the worker pods ----------

def _relabel(labels: dict[str, str], configs: list[dict]) -> dict[str, str] | None:
    """Prometheus' keep/replace relabelling (anchored regexes, `$N` references)."""
    labels = dict(labels)
    for rc in configs:
        value = rc.get("separator", ";").join(labels.get(s, "") for s in rc["source_labels"])
        m = re.fullmatch(rc.get("regex", "(.*)"), value)
        action = rc.get("action", "replace")
        if action == "keep":
            if not m:
                return None
        elif action == "replace":
            if m:
                labels[rc["target_label"]] = re.sub(
                    r"\$\{?(\d+)\}?", lambda g, m=m: m.group(int(g.group(1))) or "",
                    rc.get("replacement", "$1"))
        else:
            raise AssertionError(f"action {action} not simulated")
    return labels


def _pod_meta(pod: dict, ip: str, port: int) -> dict[str, str]:
    meta = {"__address__": f"{ip}:{port}", "__meta_kubernetes_namespace": "roompulse",
            "__meta_kubernetes_pod_name": "roompulse-worker-7d9f-abcde",
            "__meta_kubernetes_pod_phase": "Running"}
    for kind, values in (("label", pod["metadata"]["labels"]),
                         ("annotation", pod["metadata"].get("annotations", {}))):
        for k, v in values.items():
            meta[f"__meta_kubernetes_pod_{kind}_{re.sub(r'[^a-zA-Z0-9_]', '_', k)}"] = v
    return meta


def test_pod_discovery_keeps_the_worker_pods_at_their_metrics_port() -> None:
    config = load_yaml(PROM / "kubernetes.yml")
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "roompulse-worker"
    assert job["kubernetes_sd_configs"][0]["namespaces"]["names"] == [KUSTOMIZATION["namespace"]]
    assert config["rule_files"] == load_yaml(PROM / "prometheus.yml")["rule_files"]
    pod = _pod()
    port = _container()["ports"][0]["containerPort"]
    # Pod discovery yields one target per container port (and one bare one without a port).
    for discovered in (f"10.1.2.3:{port}", "10.1.2.3"):
        ip, _, p = discovered.partition(":")
        kept = _relabel(_pod_meta(pod, ip, int(p or 0)) | {"__address__": discovered},
                        job["relabel_configs"])
        assert kept is not None
        assert kept["__address__"] == f"10.1.2.3:{port}"  # the container's http port
        assert kept.get("__metrics_path__") == "/metrics"
        assert kept["instance"] == "roompulse-worker-7d9f-abcde"
        assert kept["namespace"] == "roompulse"
    other = {"metadata": {"labels": {"app.kubernetes.io/name": "redis"},
                          "annotations": {"prometheus.io/scrape": "true"}}}
    assert _relabel(_pod_meta(other, "10.1.2.4", 6379), job["relabel_configs"]) is None
    quiet = {"metadata": {"labels": pod["metadata"]["labels"], "annotations": {}}}
    assert _relabel(_pod_meta(quiet, "10.1.2.5", port), job["relabel_configs"]) is None


@pytest.mark.skipif(promtool() is None, reason="promtool not installed (Debian: apt-get install "
                                               "prometheus; .ci/run installs it)")
def test_promtool_checks_the_kubernetes_config() -> None:
    r = subprocess.run([promtool(), "check", "config", "kubernetes.yml"], cwd=PROM,
                       capture_output=True, text=True, timeout=120, check=False)
    if "kubernetes_sd_configs not found" in r.stdout + r.stderr:
        pytest.skip("this promtool is built without Kubernetes discovery (Debian's package); "
                    "the relabelling is checked by test_pod_discovery_keeps_the_worker_pods...")
    assert r.returncode == 0, r.stdout + r.stderr


# ---- the HPA's lag metric ------------------------------------------------------------------

def test_the_hpa_metric_is_served_by_the_adapter_rule_from_a_real_worker_metric() -> None:
    (metric,) = _resources()["HorizontalPodAutoscaler"]["spec"]["metrics"]
    (rule,) = load_yaml(K8S / "optional" / "prometheus-adapter-values.yaml")["rules"]["external"]
    assert rule["name"]["as"] == metric["external"]["metric"]["name"]
    series = rule["seriesQuery"].split("{")[0]
    assert series in worker_families() and series == "roompulse_worker_consumer_lag"
    assert rule["resources"]["overrides"]["namespace"]["resource"] == "namespace"


@pytest.mark.skipif(promtool() is None, reason="promtool not installed (Debian: apt-get install "
                                               "prometheus; .ci/run installs it)")
def test_the_adapter_query_is_valid_promql(tmp_path: Path) -> None:
    (rule,) = load_yaml(K8S / "optional" / "prometheus-adapter-values.yaml")["rules"]["external"]
    series, _, _ = rule["seriesQuery"].partition("{")
    query = (rule["metricsQuery"].replace("<<.Series>>", series)
             .replace("<<.LabelMatchers>>", 'namespace="roompulse"'))
    (tmp_path / "q.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "adapter", "rules": [{"record": "adapter:lag", "expr": query}]}]}))
    r = subprocess.run([promtool(), "check", "rules", str(tmp_path / "q.yml")],
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
