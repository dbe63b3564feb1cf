"""The tamper-evident audit trail: who changed what, when, from where, and with what outcome."""
