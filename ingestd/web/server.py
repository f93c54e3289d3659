"""The web console: FastAPI with server-rendered Jinja2 pages, htmx (vendored) for partial
updates and server-sent events for the dock screen. Plain `def` endpoints over the same code
the command line uses; the signed-in person is resolved once per request, here, at the edge.

Every answer carries the security headers; every POST is checked for its form token; every
route checks the role table (access.py) on the server."""

from __future__ import annotations

import logging
import re
import threading
import time
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from ingestd.app import App
from ingestd.doctor import Diagnosis, diagnose
from ingestd.errors import UserError
from ingestd.findings import CATALOGUE, readable_times
from ingestd.errors import AccessDenied
from ingestd.evidence.access import READS, Decision, Person, Why, record_refusal
from ingestd.users import ROLE_ZH, needs_first_admin
from ingestd.localtime import MINUTE, local_text
from ingestd.logs import event
from ingestd.web import sessions
from ingestd.web.access import Page, may_change, may_open
from ingestd.web.labels import duration_words, words
from ingestd.web.sessions import COOKIE, Viewer

HERE = Path(__file__).parent
OPEN_WHILE_SETTING_UP = ("/setup", "/healthz", "/static/")
DIAGNOSIS_S = 300.0
log = logging.getLogger("ingestd.web")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
NAV = (Page.DASHBOARD, Page.DOCK, Page.RECORDINGS, Page.GAPS, Page.INCIDENTS, Page.CASES, Page.ACCESS, Page.REPORT,
       Page.TRIPS, Page.HOLDS, Page.RETENTION, Page.DEVICES, Page.ROSTER, Page.ALERTS, Page.USERS, Page.AUDIT)


class NeedLogin(Exception):
    pass


class MustChangePassword(Exception):
    pass


class NotFound(Exception):
    pass


class Forbidden(Exception):
    def __init__(self, page: str, recording: str | None = None):
        self.page = page
        self.recording = recording  # another team's recording: the page offers an access request


class Edge:
    """What every route needs: the app, the templates, and the person asking."""

    def __init__(self, app: App):
        self.app = app
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals["t"] = words(app.settings.web.language)
        self.templates.env.globals["lang"] = app.settings.web.language
        self.language = app.settings.web.language
        words_now = self.templates.env.globals["t"]
        self.templates.env.filters["duration"] = lambda seconds: duration_words(seconds or 0, words_now)
        self.templates.env.filters["when"] = partial(when_text, tz=app.settings.tz)
        self.templates.env.filters["commands"] = commands_marked
        # A finding's name and message, and a role's, in the console's language (the catalogue's).
        self.templates.env.globals["finding_label"] = self.finding_label
        self.templates.env.globals["finding_message"] = self.finding_message
        self.templates.env.globals["role_name"] = lambda role: words_now[f"role_{role}"]
        self.secure = app.settings.web.certfile is not None or app.settings.web.secure_cookies
        self._set_up = False  # an administrator account exists (once true, for good)
        self._diagnosis: tuple[float, Diagnosis] | None = None
        self._diagnosis_lock = threading.Lock()

    def setting_up(self) -> bool:
        """No administrator account yet (a dock installed by its package): asked of the
        database until one exists, then never again."""
        if not self._set_up and not needs_first_admin(self.app):
            self._set_up = True
        return not self._set_up

    def set_up(self) -> None:
        self._set_up = True

    def diagnosis(self) -> Diagnosis:
        """The dock's self-check for /healthz and the dashboard, made at most every DIAGNOSIS_S:
        it asks timedatectl and reads every page of a SQLite file, and what it looks at moves
        over minutes."""
        with self._diagnosis_lock:
            now = time.monotonic()
            if self._diagnosis is None or now - self._diagnosis[0] > DIAGNOSIS_S:
                self._diagnosis = (now, diagnose(self.app.settings, app=self.app))
            return self._diagnosis[1]

    def finding_label(self, code: str) -> str:
        kind = CATALOGUE.get(code)
        return kind.label(self.language) if kind else code

    def finding_message(self, item: dict) -> str:
        """A finding as the report or a list carries it (message, message_zh)."""
        if self.language == "en":
            return readable_times(item.get("message") or "")
        return item.get("message_zh") or item.get("message", "")

    def secure_for(self, request: Request) -> bool:
        """Cookies carry Secure when the console is served over HTTPS: by this process, by a
        reverse proxy the settings say so of, or as a trusted proxy's X-Forwarded-Proto tells
        (uvicorn believes that header from [web] trusted_proxies only)."""
        return self.secure or request.url.scheme == "https"

    def at_kiosk(self, request: Request) -> bool:
        """The request comes from the dock's own screen (`[web] kiosk_addresses`). Behind a
        reverse proxy on the same host every request would come from 127.0.0.1: one that a
        proxy forwarded counts only where the proxy is trusted (its real address believed)."""
        w = self.app.settings.web
        if "x-forwarded-for" in request.headers and not w.trusted_proxies:
            return False
        return (request.client.host if request.client else "") in w.kiosk_addresses

    def viewer(self, request: Request) -> Viewer | None:
        if not hasattr(request.state, "viewer"):
            found = sessions.resolve(self.app, request.cookies.get(COOKIE))
            request.state.viewer = found[0] if found else None
            request.state.renew = found[1] if found else None
        return request.state.viewer

    def require(self, request: Request, page: Page, change: bool = False) -> Viewer:
        viewer = self.viewer(request)
        if viewer is None:
            raise NeedLogin()
        if viewer.must_change_password:
            raise MustChangePassword()
        if not (may_change(viewer.role, page, viewer.kind) if change else may_open(viewer.role, page, viewer.kind)):
            event(log, logging.WARNING, "web.forbidden", badge=viewer.badge, page=page.value, path=request.url.path)
            raise Forbidden(page.value)
        return viewer

    async def own_form(self, request: Request) -> tuple[Viewer, dict, bool]:
        """A POST about the signed-in person themself (log-out, their password): any role, a
        temporary password included; the form, and whether its token is right."""
        viewer = self.viewer(request)
        if viewer is None:
            raise NeedLogin()
        form = dict(await request.form())
        return viewer, form, sessions.csrf_ok(self.app, viewer, form.get("csrf_token"))

    async def posted(self, request: Request, page: Page) -> tuple[Viewer, dict]:
        """A POST from a signed-in person allowed to change `page`, with its form token checked."""
        viewer = self.require(request, page, change=True)
        form = dict(await request.form())
        if not sessions.csrf_ok(self.app, viewer, form.get("csrf_token")):
            raise Forbidden("csrf")
        return viewer, form

    async def act(self, request: Request, page: Page, do: Callable[[Viewer, dict], str | None], back: str,
                  show: Callable[..., Response]) -> Response:
        """A POST that changes something: allowed for `page`, its form token checked, then
        `do(viewer, form)`. A refusal the rules give (UserError) is shown on the page the form
        came from (400); success goes to the address `do` returns, or `back` (303, so that a
        reload does not send the form again)."""
        viewer, form = await self.posted(request, page)
        try:
            target = do(viewer, form)
        except AccessDenied as exc:
            record_refusal(self.app, exc.person, exc.decision, path=request.url.path)
            return show(request, viewer, status_code=403, error=self.refusal(exc.person, exc.decision))
        except UserError as exc:
            return show(request, viewer, status_code=400, error=self.said(exc))
        return RedirectResponse(target or back, status_code=303)

    def said(self, exc: UserError) -> str:
        """A refusal in the console's language where the catalogue words it (errors.Refused);
        otherwise the exception's own line."""
        finding = getattr(exc, "finding", None)
        return self.worded(finding) if finding is not None else str(exc)

    def worded(self, finding) -> str:
        """A finding's message in the console's language."""
        return finding.message if self.language == "en" else finding.message_zh

    def refusal(self, person: Person, d: Decision) -> str:
        """A refusal in the console's language (the command line's is the exception's own line)."""
        t = self.templates.env.globals["t"]
        what = (t["what_recording"].format(id=d.recording_id[:12]) if d.recording_id
                else t["what_case"].format(id=d.case_no))
        act = t[f"act_{d.act.value}"]
        if d.why is Why.OTHER_TEAM:
            key = "refused_other_team_read" if d.act in READS else "refused_other_team_change"
        else:
            key = {Why.PIN: "refused_pin", Why.CASE_TEAM: "refused_case_team", Why.NO_OWNER: "refused_no_owner",
                   Why.UNAPPROVED: "refused_unapproved"}.get(d.why, "refused_role")
        return t[key].format(what=what, act=act, role=ROLE_ZH[person.role],
                             article=self.app.policy.cite("access") or "")

    def page(self, request: Request, template: str, viewer: Viewer | None, status_code: int = 200,
             **context) -> HTMLResponse:
        nav = [p for p in NAV if viewer is not None and may_open(viewer.role, p, viewer.kind)]
        return self.templates.TemplateResponse(request, template, {
            "viewer": viewer, "nav": nav, "csrf": sessions.csrf_token(self.app, viewer) if viewer else "",
            "dock_name": self.app.settings.dock_name, **context}, status_code=status_code)


def commands_marked(text: str) -> Markup:
    """A message whose `commands`, programs and paths are set between backticks, with those
    shown as code: machine text, the same in every language."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def when_text(value: datetime | str | None, tz: ZoneInfo) -> str:
    """A moment as people read it in the unit: local, to the minute, no `T` and no offset."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:  # a value kept without its zone is UTC here
        moment = moment.replace(tzinfo=timezone.utc)
    return local_text(moment, tz, MINUTE)


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def create_app(app: App) -> FastAPI:
    from ingestd.web import (pages_admin, pages_auth, pages_dock, pages_dock_explain, pages_evidence, pages_gaps,
                             pages_home, pages_recordings, pages_report, pages_requests, pages_unit)

    edge = Edge(app)
    web = FastAPI(title="ingestd", docs_url=None, redoc_url=None, openapi_url=None)
    web.state.edge = edge
    web.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @web.middleware("http")
    async def first_run(request: Request, call_next):
        """Until a first administrator exists, the dock's own screen is sent to the first-run
        form and every other address gets a plain "being set up" page (/healthz answers)."""
        path = request.url.path
        if not path.startswith(OPEN_WHILE_SETTING_UP) and await anyio.to_thread.run_sync(edge.setting_up):
            # A page the screen opens goes to the form; a favicon or a stream must not (each
            # visit of the form makes a new form token).
            if edge.at_kiosk(request) and request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                return RedirectResponse("/setup", status_code=303)
            return edge.page(request, "setting_up.html", None, status_code=503)
        return await call_next(request)

    @web.middleware("http")
    async def frame(request: Request, call_next):
        response = await call_next(request)
        for key, value in HEADERS.items():
            response.headers.setdefault(key, value)
        renew = getattr(request.state, "renew", None)
        if renew and COOKIE not in response.headers.get("set-cookie", ""):
            set_session_cookie(edge, request, response, renew)
        return response

    @web.exception_handler(NeedLogin)
    def need_login(request: Request, _exc: NeedLogin):
        if request.method != "GET" or request.headers.get("accept", "").startswith("text/event-stream"):
            return Response(status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @web.exception_handler(MustChangePassword)
    def must_change(_request: Request, _exc: MustChangePassword):
        return RedirectResponse("/password", status_code=303)

    @web.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden):
        viewer = edge.viewer(request)
        if exc.recording and viewer is not None and may_change(viewer.role, Page.ACCESS, viewer.kind):
            return edge.page(request, "forbidden_recording.html", viewer, status_code=403, recording=exc.recording,
                             article=app.policy.cite("access"))
        return edge.page(request, "message.html", viewer, status_code=403,
                         message=edge.templates.env.globals["t"]["form_expired" if exc.page == "csrf" else "forbidden"])

    @web.exception_handler(NotFound)
    @web.exception_handler(404)
    def not_found(request: Request, _exc):
        return edge.page(request, "message.html", edge.viewer(request), status_code=404,
                         message=edge.templates.env.globals["t"]["not_found"])

    for module in (pages_auth, pages_home, pages_dock, pages_dock_explain, pages_gaps, pages_recordings, pages_admin,
                   pages_report, pages_unit):
        web.include_router(module.router(edge))
    # Pages that act on recordings check access to each the way the recording page does.
    for module in (pages_evidence, pages_requests):
        web.include_router(module.router(edge, partial(pages_recordings.allowed, edge)))
    return web


def set_session_cookie(edge: Edge, request: Request, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, sessions.cookie_value(edge.app, token, edge.app.clock.now()), httponly=True,
                        samesite="strict", secure=edge.secure_for(request), path="/")


class WebServer:
    """uvicorn in a thread of the daemon (or of `ingestd web`), stopped with it."""

    def __init__(self, app: App, host: str | None = None, port: int | None = None):
        import uvicorn

        w = app.settings.web
        self.config = uvicorn.Config(create_app(app), host=host or w.host, port=port or w.port,
                                     ssl_certfile=str(w.certfile) if w.certfile else None,
                                     ssl_keyfile=str(w.keyfile) if w.keyfile else None,
                                     log_level="warning", access_log=False, timeout_graceful_shutdown=3,
                                     proxy_headers=bool(w.trusted_proxies),
                                     forwarded_allow_ips=",".join(w.trusted_proxies) or "")
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="web", daemon=True)

    def start(self, wait_s: float = 10.0) -> bool:
        """Start serving; a console that cannot listen (the port taken, a bad certificate) is
        reported and the dock goes on docking without it."""
        import time

        self.thread.start()
        end = time.monotonic() + wait_s
        while not self.server.started and self.thread.is_alive() and time.monotonic() < end:
            time.sleep(0.05)
        if not self.server.started:
            event(log, logging.ERROR, "web.unavailable", host=self.config.host, port=self.config.port,
                  reason="could not listen (see the error above)")
            return False
        event(log, logging.INFO, "web.listening", host=self.config.host, port=self.config.port,
              https=self.config.ssl_certfile is not None)
        return True

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def run(self) -> None:
        """In the foreground (`ingestd web`), until Ctrl-C or SIGTERM."""
        event(log, logging.INFO, "web.listening", host=self.config.host, port=self.config.port,
              https=self.config.ssl_certfile is not None)
        self.server.run()
