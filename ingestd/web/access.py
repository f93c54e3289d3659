"""Who may open what in the console: one table, checked on the server for every route (the
menu only shows what this table allows; hiding a link is never the check)."""

from __future__ import annotations

from enum import StrEnum

from ingestd.camera_admission import REGISTRARS
from ingestd.compliance.shift_actions import SHIFT_ACTORS
from ingestd.compliance.trips import RULERS
from ingestd.users import Role


class Page(StrEnum):
    DASHBOARD = "dashboard"
    DOCK = "dock"
    RECORDINGS = "recordings"
    GAPS = "gaps"
    EVIDENCE = "evidence"  # 证明对象 on a recording
    CASES = "cases"  # cases and their exports
    ACCESS = "access"  # access requests (002 第19条)
    HOLDS = "holds"
    RETENTION = "retention"  # the plan and deletion approvals
    INCIDENTS = "incidents"  # damaged files and device faults awaiting 书面说明
    REPORT = "report"
    TRIPS = "trips"  # 连续工作/异地执法/偏远地区 and the team head's ruling on each (the return exception)
    SHIFTS = "shifts"  # overdue shifts on the dashboard: a reminder to the officer, an excuse with its reason
    DEVICES = "devices"
    ROSTER = "roster"
    ALERTS = "alerts"
    USERS = "users"
    AUDIT = "audit"


EVERYONE = frozenset(Role)
# One letter a role keeps the tables below readable as a grid.
O, H, L, A, D = Role.OFFICER, Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN, Role.AUDITOR  # noqa: E741
ALLOWED: dict[Page, frozenset[Role]] = {
    Page.DASHBOARD: EVERYONE,
    Page.DOCK: EVERYONE,
    Page.RECORDINGS: EVERYONE,  # each sees what evidence/access.py lets them (002 第19条)
    Page.GAPS: EVERYONE,  # each sees their own, a team head the team's; officers explain their own
    Page.EVIDENCE: EVERYONE,  # on the recordings each may see
    Page.CASES: frozenset({H, L, A, D}),  # a team head sees the team's cases
    Page.ACCESS: EVERYONE,  # one's own requests; a team head the team's to decide
    Page.HOLDS: frozenset({H, L, A, D}),
    Page.RETENTION: frozenset({H, L, A, D}),
    Page.INCIDENTS: EVERYONE,  # an officer those of their own recordings, a team head the team's
    Page.REPORT: frozenset({H, L, A, D}),  # a team head the team's report
    Page.TRIPS: frozenset({H, L, A, D}),  # a team head the team's trips
    Page.SHIFTS: frozenset({H, L, A, D}),  # a team head the team's
    Page.DEVICES: frozenset({H, L, A, D}),
    Page.ROSTER: frozenset({A, D}),
    Page.ALERTS: frozenset({A, D}),
    Page.USERS: frozenset({A, D}),  # the auditor reads; only the admin changes
    Page.AUDIT: frozenset({D, A, L}),
}
# Changes, as opposed to reading: the auditor reads everywhere and changes nothing. Which
# team's items a person may change is decided with the item (the domain code checks roles).
CHANGES: dict[Page, frozenset[Role]] = {
    Page.GAPS: frozenset({O, H}),
    Page.EVIDENCE: frozenset({O, H, L, A}),
    Page.CASES: frozenset({H, L, A}),
    Page.ACCESS: frozenset({O, H, L, A}),
    Page.HOLDS: frozenset({H, L, A}),
    Page.RETENTION: frozenset({H, L, A}),
    Page.INCIDENTS: frozenset({O, H, L, A}),
    # Who rules on a trip, acts on a shift or registers a camera is the domain's rule; the
    # console asks it.
    Page.TRIPS: frozenset(map(Role, RULERS)),
    Page.SHIFTS: frozenset(map(Role, SHIFT_ACTORS)),
    Page.DEVICES: frozenset(REGISTRARS),
    Page.ROSTER: frozenset({A}),
    Page.ALERTS: frozenset({A}),
    Page.USERS: frozenset({A}),
}


# A badge + PIN log-in at the dock's screen reaches only what explaining a gap needs.
PIN_PAGES = frozenset({Page.DOCK, Page.GAPS, Page.RECORDINGS})
PIN_CHANGES = frozenset({Page.GAPS})


def may_open(role: Role, page: Page, kind: str = "password") -> bool:
    return role in ALLOWED[page] and (kind != "pin" or page in PIN_PAGES)


def may_change(role: Role, page: Page, kind: str = "password") -> bool:
    return role in CHANGES.get(page, frozenset()) and (kind != "pin" or page in PIN_CHANGES)
