"""Policies (tiers): who may use which models, and how much."""
