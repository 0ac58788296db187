"""docs/configuration.md lists every environment variable the settings classes read."""

from __future__ import annotations

from pathlib import Path

from streams.configdoc import SECTIONS, render

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_is_generated_from_the_settings() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text()
    assert committed == render(), "run: python -m streams.configdoc > docs/configuration.md"


def test_every_setting_is_listed_with_its_prefix() -> None:
    text = render()
    for _, cls in SECTIONS:
        prefix = cls.model_config["env_prefix"]
        assert prefix.startswith("ROOMPULSE_")
        for name in cls.model_fields:
            assert f"`{prefix}{name.upper()}`" in text


def test_no_secret_default_is_rendered() -> None:
    assert "SecretStr(" not in render() and "**********" not in render()
