"""Board-facing words of the engine, read once from the package's ``texts.yaml``.

``text("status.on_track")`` returns a string; ``fill("rule.on_track", value=..., ...)`` formats a
template with named fields. Keys are dotted paths into the YAML.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml


@lru_cache(maxsize=1)
def all_texts() -> dict:
    """The whole texts.yaml as a dict (cached)."""
    return yaml.safe_load(resources.files("plan_metrics").joinpath("texts.yaml")
                          .read_text(encoding="utf-8"))


def text(key: str) -> str:
    """The text at a dotted key, e.g. ``text("display.no_data")`` -> 'no data'."""
    node = all_texts()
    for part in key.split("."):
        node = node[part]
    return node


def fill(key: str, **fields) -> str:
    """The template at ``key`` formatted with ``fields``."""
    return text(key).format(**fields)


def status_word(key: str) -> str:
    """'on_track' -> 'on track' (the word in results.STATUSES)."""
    return text(f"status.{key}")


def group_label(group_by: str, group: str) -> str:
    """'race_ethnicity', 'black' -> 'Black students' (the group's own code when unknown)."""
    labels = all_texts().get("group_labels", {}).get(group_by, {})
    return labels.get(str(group), f"{group_by} {group}".replace("_", " "))
