"""pin_mmap_threshold: set on glibc, skipped when disabled or when the environment tunes malloc."""

from __future__ import annotations

import platform

import pytest

from streams.worker.malloc import ENV_OVERRIDES, pin_mmap_threshold

glibc = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")


@pytest.fixture(autouse=True)
def no_malloc_env(monkeypatch):
    for name in ENV_OVERRIDES:
        monkeypatch.delenv(name, raising=False)


@glibc
def test_sets_the_threshold_on_glibc() -> None:
    assert pin_mmap_threshold(128) is True


def test_zero_leaves_malloc_alone() -> None:
    assert pin_mmap_threshold(0) is False


@pytest.mark.parametrize("name", ENV_OVERRIDES)
def test_the_operators_malloc_environment_wins(monkeypatch, name) -> None:
    monkeypatch.setenv(name, "glibc.malloc.mmap_threshold=65536" if name == "GLIBC_TUNABLES"
                       else "65536")
    assert pin_mmap_threshold(128) is False
