"""Stored credentials: upstream secrets kept encrypted in Headwater, named by deployments."""
