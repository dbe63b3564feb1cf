"""Usage accounting: events, the batched writer, and the usage admin API."""
