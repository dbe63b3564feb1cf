"""Declarative resources: ``apiVersion: headwater/v1`` documents and ``headwater apply``."""
