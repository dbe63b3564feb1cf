"""Reading a Headwater ``/metrics`` the way Prometheus does."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape: every sample by name and labels."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: list[tuple[str, dict[str, str], float]] = []
        self.types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            self.types[family.name] = family.type
            for sample in family.samples:
                self.samples.append((sample.name, dict(sample.labels), sample.value))

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include ``labels`` (0 if none)."""
        return sum(v for n, found, v in self.samples if n == name and _within(labels, found))

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets of ``name``'s samples."""
        return [found for n, found, _ in self.samples if n == name]

    def names(self) -> set[str]:
        return {name for name, _, _ in self.samples}


def _within(wanted: Mapping[str, str], found: Mapping[str, str]) -> bool:
    return all(found.get(key) == value for key, value in wanted.items())


def scrape(url: str) -> Scrape:
    """``GET {url}/metrics`` on a new connection (with several workers, any of them may answer)."""
    with httpx.Client(timeout=10) as client:
        response = client.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape(response.text)
