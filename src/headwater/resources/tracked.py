"""Each kind of document and how its changes are read and recorded: the admin API's own
:class:`~headwater.unit_of_work.Tracked` values, so apply and prune audit exactly as the API does."""

from __future__ import annotations

from typing import Any

from headwater.catalog.service import MODELS
from headwater.directory.accounts import SERVICE_ACCOUNTS
from headwater.directory.service import GROUPS, USERS
from headwater.policies.service import POLICIES
from headwater.unit_of_work import Tracked

TRACKED: dict[str, Tracked[Any]] = {
    "Group": GROUPS,
    "User": USERS,
    "ServiceAccount": SERVICE_ACCOUNTS,
    "Model": MODELS,
    "Policy": POLICIES,
}
