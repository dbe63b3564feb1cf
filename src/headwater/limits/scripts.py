"""The limiter's Lua scripts, each loaded with ``common.lua`` (what they share) in front of it."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The source of script ``name`` (``reserve.lua`` ...), ready to register with Redis."""
    folder = resources.files("headwater.limits")
    common = folder.joinpath("common.lua").read_text(encoding="utf-8")
    return common + "\n" + folder.joinpath(name).read_text(encoding="utf-8")
