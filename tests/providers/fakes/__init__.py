"""Local fakes of the providers' HTTP APIs, replaying their recorded wire formats (test code, not product)."""
