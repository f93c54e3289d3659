"""Log-in, log-out, changing one's password, and the first-run form: until a first
administrator exists, the dock's own screen asks the installer for one (`/setup`) and every
other address is told the dock is being set up."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from ingestd.errors import UserError
from ingestd.users import set_password, set_up_first_admin
from ingestd.web import sessions
from ingestd.web.server import Edge, Forbidden, NeedLogin, _safe_next, set_session_cookie
from ingestd.web.sessions import COOKIE, LOGIN_CSRF_COOKIE, LoginOutcome


def _address(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    t = edge.templates.env.globals["t"]

    def login_page(request: Request, next_path: str, error: str | None = None, status_code: int = 200):
        token = sessions.new_login_csrf()
        response = edge.page(request, "login.html", None, status_code=status_code, login_csrf=token,
                             next_path=_safe_next(next_path), error=error)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=edge.secure_for(request),
                            path="/login")
        return response

    @r.get("/login")
    def login_form(request: Request, next: str = "/"):
        return login_page(request, next)

    @r.post("/login")
    async def login(request: Request):
        form = dict(await request.form())
        next_path = _safe_next(form.get("next"))
        if not sessions.login_csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            return login_page(request, next_path, t["form_expired"], 403)
        result = sessions.sign_in(edge.app, str(form.get("badge", "")), str(form.get("password", "")),
                                  _address(request))
        if result.outcome is LoginOutcome.THROTTLED:
            return login_page(request, next_path, t["login_throttled"], 429)
        if result.outcome is LoginOutcome.REFUSED:
            return login_page(request, next_path, t["login_refused"], 401)
        target = "/password" if result.viewer.must_change_password else next_path
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(edge, request, response, result.token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
        return response

    # ---- first run: the first administrator, set on the dock's own screen ----

    def setup_page(request: Request, error: str | None = None, status_code: int = 200, **kept: str):
        token = sessions.new_login_csrf()
        response = edge.page(request, "setup.html", None, status_code=status_code, setup_csrf=token, error=error,
                             badge=kept.get("badge", ""), name=kept.get("name", ""))
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=edge.secure_for(request),
                            path="/setup")
        return response

    def setup_closed(request: Request):
        """Set up already: the log-in. Elsewhere than the dock's own screen: not here."""
        if not edge.setting_up():
            return RedirectResponse("/login", status_code=303)
        if not edge.at_kiosk(request):
            return edge.page(request, "setting_up.html", None, status_code=503)
        return None

    @r.get("/setup")
    def setup_form(request: Request):
        return setup_closed(request) or setup_page(request)

    @r.post("/setup")
    async def setup(request: Request):
        closed = setup_closed(request)
        if closed is not None:
            return closed
        form = dict(await request.form())
        kept = {"badge": str(form.get("badge", "")), "name": str(form.get("name", ""))}
        if not sessions.login_csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            return setup_page(request, t["form_expired"], 403, **kept)
        new, again = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
        if new != again:
            return setup_page(request, t["passwords_differ"], 400, **kept)
        try:
            set_up_first_admin(edge.app, kept["badge"], kept["name"], new)
        except UserError as exc:
            return setup_page(request, edge.said(exc), 400, **kept)
        edge.set_up()
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/setup")
        return response

    @r.post("/logout")
    async def logout(request: Request):
        viewer, _form, token_ok = await edge.own_form(request)
        if not token_ok:
            # Refused whole: a log-out that only cleared the cookie would leave the session alive.
            return edge.page(request, "message.html", viewer, status_code=403, message=t["form_expired"])
        sessions.sign_out(edge.app, viewer)
        request.state.renew = None
        # An officer at the dock screen goes back to it, never to the password log-in.
        response = RedirectResponse("/dock" if viewer.kind == "pin" else "/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    def password_page(request: Request, viewer, error: str | None = None, status_code: int = 200):
        return edge.page(request, "password.html", viewer, status_code=status_code, error=error)

    def password_viewer(request: Request):
        """Anyone signed in with their password, a temporary one included; a PIN session at the
        dock never reaches the password (a 4-digit secret must not open the stronger one)."""
        viewer = edge.viewer(request)
        if viewer is None:
            raise NeedLogin()
        if viewer.kind != "password":
            raise Forbidden("password")
        return viewer

    @r.get("/password")
    def password_form(request: Request):
        return password_page(request, password_viewer(request))

    @r.post("/password")
    async def password_change(request: Request):
        password_viewer(request)
        viewer, form, token_ok = await edge.own_form(request)
        if not token_ok:
            return password_page(request, viewer, t["form_expired"], 403)
        new, again = str(form.get("new_password", "")), str(form.get("repeat_password", ""))
        check = sessions.check_current_password(edge.app, viewer, str(form.get("current_password", "")),
                                                _address(request))
        if check is LoginOutcome.THROTTLED:  # too many wrong guesses: the session has been ended
            request.state.renew = None
            response = RedirectResponse("/login", status_code=303)
            response.delete_cookie(COOKIE, path="/")
            return response
        if check is LoginOutcome.REFUSED:
            return password_page(request, viewer, t["wrong_current"], 400)
        if new != again:
            return password_page(request, viewer, t["passwords_differ"], 400)
        try:
            set_password(edge.app, viewer.badge, new, viewer.badge, keep_session=viewer.token_hash)
        except UserError as exc:
            return password_page(request, viewer, str(exc), 400)
        return RedirectResponse("/", status_code=303)

    return r
