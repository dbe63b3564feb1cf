"""Headwater: a self-hosted Models-as-a-Service platform."""

__version__ = "0.1.0"
