"""API keys: format, hashing, records and their admin API."""
