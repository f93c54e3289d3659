"""Users (信息中心 changes them, 督察 reads them) and the audit trail, with its chain's
verification run in the background."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ingestd import audit
from ingestd.audit_names import ACTIONS, action_name
from ingestd.audit_trail import TrailFilter, read_trail
from ingestd.errors import UserError
from ingestd.passwords import temporary_password
from ingestd.users import ROLES, add_user, disable_user, known_teams, list_users
from ingestd.web.audit_view import shown
from ingestd.web.access import Page, may_change
from ingestd.web.server import Edge
from ingestd.web.sessions import tried_accounts

AUDIT_PAGE = 100
CHECK_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    entries: int
    first_bad: int | None
    checked_at: datetime
    chains: tuple[audit.ChainState, ...]


class ChainChecker:
    """The whole chain is walked in a thread, never while a page waits; a page shows the
    last result and starts a new walk when that one is older than CHECK_EVERY."""

    def __init__(self, edge: Edge):
        self.edge = edge
        self.result: ChainCheck | None = None
        self._running = threading.Lock()

    def latest(self) -> ChainCheck | None:
        stale = self.result is None or self.edge.app.clock.now() - self.result.checked_at > CHECK_EVERY
        if stale and self._running.acquire(blocking=False):
            threading.Thread(target=self._walk, name="audit-check", daemon=True).start()
        return self.result

    def _walk(self) -> None:
        try:
            app = self.edge.app
            with app.db.reading() as s:
                findings, chains = audit.verify(s)
                self.result = ChainCheck(not findings, sum(c.entries for c in chains),
                                         findings[0].detail["seq"] if findings else None, app.clock.now(),
                                         tuple(chains))
        finally:
            self._running.release()


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app
    checker = ChainChecker(edge)

    def users_page(request: Request, viewer, status_code: int = 200, **extra):
        users = list_users(app)
        names = {u["badge"]: u["name"] for u in users}
        tried = [(badge, names.get(badge), n, addresses)
                 for badge, (n, addresses) in sorted(tried_accounts(app).items())]
        with app.db.reading() as s:
            teams = known_teams(s)
        return edge.page(request, "users.html", viewer, status_code=status_code, users=users,
                         roles=list(ROLES), tried=tried, teams=teams,
                         window=app.settings.web.login_window_minutes,
                         can_change=may_change(viewer.role, Page.USERS), **extra)

    @r.get("/users")
    def users(request: Request):
        return users_page(request, edge.require(request, Page.USERS))

    @r.post("/users")
    async def users_add(request: Request):
        viewer, form = await edge.posted(request, Page.USERS)
        password = temporary_password()
        try:
            added = add_user(app, str(form.get("badge", "")).strip(), str(form.get("name", "")).strip(),
                             str(form.get("role", "")), str(form.get("team", "")).strip() or None,
                             str(form.get("email", "")).strip() or None, str(form.get("mobile", "")).strip() or None,
                             viewer.badge, password, temporary=True, known_team_only=True)
        except UserError as exc:
            return users_page(request, viewer, 400, error=edge.said(exc), form=form)
        return users_page(request, viewer, added=added, password=password)

    @r.post("/users/{badge}/disable")
    async def users_disable(request: Request, badge: str):
        viewer, _form = await edge.posted(request, Page.USERS)
        try:
            disable_user(app, badge, viewer.badge)
        except UserError as exc:
            return users_page(request, viewer, 400, error=str(exc))
        return RedirectResponse("/users", status_code=303)

    @r.get("/audit")
    def audit_trail(request: Request, person: str = "", action: str = "", subject: str = "",
                    since: str = "", until: str = "", before: int | None = None, system: int = 0):
        viewer = edge.require(request, Page.AUDIT)
        tz = app.settings.tz
        t = edge.templates.env.globals["t"]
        try:
            wanted = TrailFilter(person=person.strip(), action=action, subject=subject.strip(), before=before,
                                 since=date.fromisoformat(since) if since else None,
                                 until=date.fromisoformat(until) if until else None, with_system=bool(system))
        except ValueError:
            return edge.page(request, "message.html", viewer, status_code=400,
                             message=t["bad_date"].format(value=(since or until)[:20]))
        with app.db.reading() as s:
            rows = read_trail(s, wanted, tz, AUDIT_PAGE + 1)
            entries = shown(s, rows[:AUDIT_PAGE], tz, edge.language, t["system_actor"])
        older = entries[-1].seq if len(rows) > AUDIT_PAGE else None
        return edge.page(request, "audit.html", viewer, entries=entries, older=older, chain=checker.latest(),
                         actions=sorted(((code, action_name(code, edge.language)) for code in ACTIONS),
                                        key=lambda pair: pair[1]),
                         filters={"person": person, "action": action, "subject": subject, "since": since,
                                  "until": until, "system": system})

    return r
