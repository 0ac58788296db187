"""The shipped rule tests pass, and the runner reports a wrong expectation."""

import pytest

from alerts.ruletest import DEFAULT_TESTS, run_file

FILES = sorted(DEFAULT_TESTS.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_default_rule_pack_tests(path):
    cases, failures = await run_file(path)
    assert cases >= 1
    assert [str(f) for f in failures] == []


async def test_a_wrong_expectation_is_reported(tmp_path):
    text = (DEFAULT_TESTS / "room-stalled.yaml").read_text()
    bad = tmp_path / "bad.yaml"
    wrong = "- at: 20m30s\n        firing: [{rule: room-stalled, room_id: room-2}]"
    bad.write_text(text.replace("- at: 20m30s\n        firing: []", wrong))
    _, failures = await run_file(bad)
    assert len(failures) == 1
    assert failures[0].missing == [{"rule": "room-stalled", "room_id": "room-2",
                                    "product_id": None, "source": None}]


def test_every_default_rule_has_a_test():
    from alerts.rules import RulePack

    text = "".join(p.read_text() for p in FILES)
    missing = [r.id for r in RulePack.load().rules if f"rule: {r.id}" not in text]
    assert missing == []
