"""deploy/Dockerfile and deploy/entrypoint.sh, checked without a Docker engine (none runs here).

What can be checked is: the base images, the stages, that every file it copies exists and is in
the build context, the user, that the entry point and command exist and parse, that the wheel
stage 1 builds holds every package file, that the entry point turns *_FILE into secrets, and that
the image's command, run through the entry point against the real stack, answers the image's
HEALTHCHECK and stops cleanly on SIGTERM. What cannot: the image build itself (apt/pip inside
`python:3.11-slim-bookworm`) and the container runtime.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from streams.configdoc import SECTIONS
from tests.deploy.container import (
    ENTRYPOINT_SH,
    copy_parts,
    ignored,
    image_env,
    parses,
    relative,
    stages,
)
from tests.deploy.files import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_stage_is_a_pinned_python_311_slim_image() -> None:
    images = [s.image for s in stages()]
    assert len(images) >= 2, "multi-stage: a build stage and a runtime stage"
    for image in images:
        # An explicit Debian release: `3.11-slim` alone moves to the next release silently.
        assert re.fullmatch(r"python:3\.11(\.\d+)?-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?",
                            image), image


def test_the_wheel_is_built_in_the_first_stage_and_only_its_install_is_copied_on() -> None:
    build, *_, final = stages()
    assert build.name, "the build stage is named, so later stages copy from it by name"
    assert any("pip wheel" in i.args for i in build.all("RUN"))
    froms = [copy_parts(c)[0].get("from") for c in final.all("COPY")]
    assert build.name in froms
    assert not any("pip wheel" in i.args for i in final.all("RUN")), "no build in the runtime"


def test_every_copy_source_exists_and_is_in_the_build_context() -> None:
    checked = 0
    for stage in stages():
        for ins in stage.all("COPY") + stage.all("ADD"):
            flags, sources, _ = copy_parts(ins)
            if "from" in flags:
                continue
            for src in sources:
                assert (ROOT / src).exists(), f"COPY {src}: not in the repository"
                assert not ignored(src), f"COPY {src}: excluded by Dockerfile.dockerignore"
                checked += 1
    assert checked >= 5


def test_the_build_context_excludes_what_the_image_does_not_need() -> None:
    for path in (".venv", ".git", "tests/conftest.py", "docs/worker.md",
                 "streams/__pycache__/cli.cpython-311.pyc"):
        assert ignored(path), path


def test_runs_as_a_numeric_non_root_user() -> None:
    user = stages()[-1].last("USER").args
    uid, _, gid = user.partition(":")
    # Kubernetes' runAsNonRoot can only verify a numeric uid.
    assert uid.isdigit() and int(uid) != 0, user
    assert not gid or (gid.isdigit() and int(gid) != 0), user


def test_entrypoint_and_command_exist_and_parse() -> None:
    final = stages()[-1]
    entrypoint, cmd = final.last("ENTRYPOINT").exec_form(), final.last("CMD").exec_form()
    # ENTRYPOINT[0] is the script copied in from deploy/entrypoint.sh, found on PATH.
    copies = {Path(copy_parts(c)[2]).name: copy_parts(c)[1] for c in final.all("COPY")}
    assert copies[entrypoint[0]] == [relative(ENTRYPOINT_SH)]
    assert os.access(ENTRYPOINT_SH, os.X_OK), "deploy/entrypoint.sh must be executable"
    assert subprocess.run(["bash", "-n", str(ENTRYPOINT_SH)], check=False).returncode == 0
    # Then the `roompulse` console script, and `worker` as the default command.
    assert entrypoint[1] == "roompulse" and "roompulse" in PYPROJECT["project"]["scripts"]
    assert cmd == ["worker"]
    assert parses(entrypoint[2:] + cmd)


def test_healthcheck_is_a_python_probe_of_healthz() -> None:
    check = stages()[-1].last("HEALTHCHECK")
    probe = check.exec_form()
    assert probe[:2] == ["python", "-c"] and "/healthz" in probe[2]
    assert compile(probe[2], "HEALTHCHECK", "exec")


def test_the_wheel_of_stage_one_holds_every_package_file(tmp_path: Path) -> None:
    """Stage 1's `pip wheel` on exactly what stage 1 copies: every data file the worker loads
    (default targets and rules, console pages) must end up in the image."""
    build = stages()[0]
    for ins in build.all("COPY"):
        for src in copy_parts(ins)[1]:
            (shutil.copytree if (ROOT / src).is_dir() else shutil.copy)(ROOT / src, tmp_path / src)
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--wheel-dir",
                        str(tmp_path / "wheels"), "."], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("roompulse-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = [p for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]
    expected = {relative(p) for top in packages for p in ROOT.glob(f"{top.rstrip('*')}/**/*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert expected - names == set()
    entry = zipfile.ZipFile(wheel).read(
        next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert f"roompulse = {PYPROJECT['project']['scripts']['roompulse']}" in entry


# ---- deploy/entrypoint.sh: *_FILE -> the variable ------------------------------------------

def _run_entrypoint(env: dict, *cmd: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ROOMPULSE_")}
    return subprocess.run(["bash", str(ENTRYPOINT_SH), *cmd], env={**base, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def _secret_fields() -> list[tuple[str, str, str]]:
    """(class path, field, env var) of every secret setting read from the environment only."""
    out = []
    for _, cls in SECTIONS:
        prefix = cls.model_config.get("env_prefix", "")
        for name, field in cls.model_fields.items():
            if "SecretStr" in str(field.annotation) and f"{name}_file" not in cls.model_fields:
                out.append((f"{cls.__module__}:{cls.__name__}", name, f"{prefix}{name}".upper()))
    return out


def test_every_secret_setting_can_come_from_a_file(tmp_path: Path) -> None:
    fields = _secret_fields()
    assert {"ROOMPULSE_REDIS_URL", "ROOMPULSE_KAFKA_SASL_PASSWORD",
            "ROOMPULSE_CONSOLE_SESSION_SECRET", "ROOMPULSE_WECOM_KEY"} <= {v for *_, v in fields}
    env, expected = {}, {}
    for _, name, var in fields:
        value = f"s3cret {name}\nsecond line" if var == "ROOMPULSE_WEBHOOK_SECRET" else f"s-{var}"
        (tmp_path / var).write_text(value + "\n \n", encoding="utf-8")  # trailing blanks dropped
        env[f"{var}_FILE"], expected[var] = str(tmp_path / var), value
    script = (
        "import importlib, json, sys\n"
        "out = {}\n"
        f"for path, name, var in {fields!r}:\n"
        "    mod, cls = path.split(':')\n"
        "    value = getattr(getattr(importlib.import_module(mod), cls)(), name)\n"
        "    out[var] = value.get_secret_value() if value is not None else None\n"
        "print(json.dumps(out))\n")
    r = _run_entrypoint(env, sys.executable, "-c", script)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == expected


def test_the_pass_through_list_is_exactly_the_file_settings() -> None:
    """*_FILE variables that are settings of their own (paths the app opens) are left alone."""
    listed = re.search(r'^PASS_THROUGH="([^"]*)"', ENTRYPOINT_SH.read_text(), re.MULTILINE)
    file_settings = {f"{cls.model_config.get('env_prefix', '')}{name}".upper()
                     for _, cls in SECTIONS for name in cls.model_fields if name.endswith("_file")}
    assert set(listed.group(1).split()) == file_settings


def test_a_path_setting_is_passed_through_untouched(tmp_path: Path) -> None:
    tokens = tmp_path / "operators"
    tokens.write_text("ops:tok-1\n")
    r = _run_entrypoint({"ROOMPULSE_CONSOLE_OPERATOR_TOKENS_FILE": str(tokens)}, "env")
    assert f"ROOMPULSE_CONSOLE_OPERATOR_TOKENS_FILE={tokens}" in r.stdout.splitlines()
    assert "ROOMPULSE_CONSOLE_OPERATOR_TOKENS=" not in r.stdout


def test_both_the_variable_and_its_file_is_an_error_that_shows_no_secret(tmp_path: Path) -> None:
    (tmp_path / "url").write_text("redis://:from-file@h:1/0")
    r = _run_entrypoint({"ROOMPULSE_REDIS_URL": "redis://:from-env@h:1/0",
                         "ROOMPULSE_REDIS_URL_FILE": str(tmp_path / "url")}, "true")
    assert r.returncode == 64
    assert "ROOMPULSE_REDIS_URL_FILE" in r.stderr and "from-" not in r.stderr + r.stdout


def test_an_unreadable_file_is_an_error(tmp_path: Path) -> None:
    r = _run_entrypoint({"ROOMPULSE_REDIS_URL_FILE": str(tmp_path / "missing")}, "true")
    assert r.returncode == 66 and "ROOMPULSE_REDIS_URL_FILE" in r.stderr
    r = _run_entrypoint({"ROOMPULSE_REDIS_URL_FILE": str(tmp_path)}, "true")  # a directory
    assert r.returncode == 66


def test_an_empty_file_variable_is_ignored_and_the_command_is_execd() -> None:
    r = _run_entrypoint({"ROOMPULSE_REDIS_URL_FILE": ""}, "bash", "-c",
                        'echo "${ROOMPULSE_REDIS_URL-unset} $$"; exit 7')
    assert r.returncode == 7
    assert r.stdout.split()[0] == "unset"


def test_no_command_is_an_error() -> None:
    assert _run_entrypoint({}).returncode == 64


# ---- the image's command, for real ----------------------------------------------------------

def _healthy(probe: list[str], env: dict) -> bool:
    return subprocess.run(probe, env=env, capture_output=True, timeout=30,
                          check=False).returncode == 0


@pytest.mark.integration
def test_the_image_command_answers_its_healthcheck_and_stops_on_sigterm(
        stack, topic_settings, tmp_path: Path) -> None:
    """ENTRYPOINT + CMD with the image's ENV, the Redis URL as a *_FILE secret and the working
    directory as WORKDIR: the HEALTHCHECK passes, SIGTERM reaches the worker (exec) and it
    exits 0."""
    from streams.bench.run import child_env
    from streams.stack import free_port

    final = stages()[-1]
    entrypoint, cmd = final.last("ENTRYPOINT").exec_form(), final.last("CMD").exec_form()
    probe = final.last("HEALTHCHECK").exec_form()
    env = {**child_env(stack, topic_settings, f"kt{os.getpid()}", f"g{os.getpid()}"),
           **image_env()}
    (tmp_path / "redis-url").write_text(env.pop("ROOMPULSE_REDIS_URL") + "\n")
    port = free_port()
    env.update(ROOMPULSE_REDIS_URL_FILE=str(tmp_path / "redis-url"),
               ROOMPULSE_WORKER_WEB_HOST="127.0.0.1",  # tests bind loopback only
               ROOMPULSE_WORKER_WEB_PORT=str(port),
               ROOMPULSE_API_PROBE_PORT=str(free_port()),  # what the HEALTHCHECK asks
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    assert not _healthy(probe, env), "nothing listens yet: the probe must fail"
    log = (tmp_path / "worker.log").open("wb")
    proc = subprocess.Popen([str(ENTRYPOINT_SH), *entrypoint[1:], *cmd], env=env, cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(probe, env):
            assert proc.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-3000:]
            time.sleep(0.5)
        # Faust's (empty) data directory goes under the temp directory (/tmp: tmpfs or an
        # emptyDir), never into the working directory.
        assert not list(workdir.glob("*-app-data")), "Faust wrote into the working directory"
        tmp = Path(env.get("TMPDIR") or tempfile.gettempdir())
        assert (tmp / f"roompulse-faust-{env['ROOMPULSE_WORKER_APP_ID']}").is_dir()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()[-3000:]
        assert not _healthy(probe, env)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()
