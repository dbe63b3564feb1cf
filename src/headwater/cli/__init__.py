"""The ``headwater`` command line: a client of the admin API, plus serve, sim, migrate and demo."""
