"""Each payload field of the event catalogue is encoded as its annotation says.

The catalogue reads its annotations as text for a quick start-up; this holds that reading
to the types Python itself evaluates."""

from __future__ import annotations

from datetime import date
from types import MappingProxyType
from typing import Any, get_args, get_origin, get_type_hints

from core import events as ev


def _shape(tp: Any) -> str:
    if tp is date or date in get_args(tp):
        return "date"
    if get_origin(tp) is tuple:
        return "list"
    if get_origin(tp) is MappingProxyType:
        return "map"
    return "as is"


def test_every_payload_field_is_encoded_as_its_evaluated_type_says() -> None:
    encoders = {ev._enc_date: "date", list: "list", dict: "map", ev._identity: "as is"}
    for cls in ev._REGISTRY.values():
        hints = get_type_hints(cls)
        for name, encode, _ in cls._codec:
            assert (cls.TOPIC, name, encoders[encode]) == (cls.TOPIC, name, _shape(hints[name]))
