"""Control-plane errors, raised by services and mapped once by the admin API.

Problem
├── NotFoundProblem   404   {"detail": "..."}
│   └── OutsideTenantProblem  404, and a denied action in the audit trail
├── ForbiddenProblem  403   {"detail": "..."}
├── ConflictProblem   409   {"detail": "..."}
└── InvalidProblem    422   {"detail": [{"loc": [...], "msg": "...", "type": "value_error"}]}
"""

from __future__ import annotations


class Problem(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundProblem(Problem):
    status = 404


class OutsideTenantProblem(NotFoundProblem):
    """The object exists but belongs to another tenant: answered exactly like a missing one."""


class ForbiddenProblem(Problem):
    status = 403


class ConflictProblem(Problem):
    status = 409


class InvalidProblem(Problem):
    status = 422

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
