"""Persistence. Only this package talks SQL."""
