"""Who may open what in the console: one table, checked on the server for every route (the
menu only shows what this table allows; hiding a link is never the check)."""

from __future__ import annotations

from enum import StrEnum

from ingestd.users import Role


class Page(StrEnum):
    DASHBOARD = "dashboard"
    DOCK = "dock"
    RECORDINGS = "recordings"
    GAPS = "gaps"
    USERS = "users"
    AUDIT = "audit"


EVERYONE = frozenset(Role)
ALLOWED: dict[Page, frozenset[Role]] = {
    Page.DASHBOARD: EVERYONE,
    Page.DOCK: EVERYONE,
    Page.RECORDINGS: EVERYONE,  # each sees what evidence/access.py lets them (002 第19条)
    Page.GAPS: EVERYONE,  # each sees their own, a team head the team's; officers explain their own
    Page.USERS: frozenset({Role.ADMIN, Role.AUDITOR}),  # the auditor reads; only the admin changes
    Page.AUDIT: frozenset({Role.AUDITOR, Role.ADMIN, Role.LEGAL}),
}
# Changes, as opposed to reading: the auditor reads everywhere and changes nothing.
CHANGES: dict[Page, frozenset[Role]] = {
    Page.USERS: frozenset({Role.ADMIN}),
}


# A badge + PIN log-in at the dock's screen reaches only what explaining a gap needs.
PIN_PAGES = frozenset({Page.DOCK, Page.GAPS, Page.RECORDINGS})


def may_open(role: Role, page: Page, kind: str = "password") -> bool:
    return role in ALLOWED[page] and (kind != "pin" or page in PIN_PAGES)


def may_change(role: Role, page: Page) -> bool:
    return role in CHANGES.get(page, frozenset())
