"""``headwater doctor``: what is wrong with an install, and how to fix it.

Every check answers a :class:`headwater.doctor.report.Check` (ok, warning or error, what was found,
how to fix it) within a short timeout; none sends a prompt to a model or changes anything (no
database created, no migration run, no file left behind). :func:`headwater.doctor.run.diagnose`
runs them all, the independent ones at once. No check's text holds a secret: URLs are shown with
their password redacted, and every known secret is cut out of the report before it is returned.
"""
