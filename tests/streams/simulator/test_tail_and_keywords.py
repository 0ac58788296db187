"""`roompulse tail` line format and the shared complaint keyword lists."""

from __future__ import annotations

from schemas.events import Order
from schemas.keywords import is_negative_comment
from streams.commands.tail_cmd import format_event, format_message
from streams.simulator.catalog import NEGATIVE_COMMENTS, NEUTRAL_COMMENTS


def test_event_line_shows_time_room_type_and_key_fields():
    ev = Order(event_id="e", room_id="room-2", ts=1_767_225_600_123, user_id="u1",
               order_id="o1", product_id="p1", amount=99.9, status="refunded")
    line = format_event(ev)
    assert line.startswith("00:00:00.123 room-2 order ")
    assert "user_id=u1" in line and "amount=99.90" in line and "status=refunded" in line


def test_dead_letters_are_marked():
    line = format_message("t.views", b"room-1", b"\xff not json")
    assert line.startswith("!! DEAD LETTER room-1 [t.views] not_json:")
    assert "DEAD LETTER - [t.views] not_json" in format_message("t.views", None, None)


def test_keyword_lists_split_the_simulator_comments():
    assert not any(map(is_negative_comment, NEUTRAL_COMMENTS))
    assert all(map(is_negative_comment, NEGATIVE_COMMENTS))
    assert is_negative_comment("This is a SCAM") and is_negative_comment("質量差")
