"""The directory: users, groups and service accounts, the owners of keys."""
