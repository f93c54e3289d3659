"""Log-in sessions of the web console: who is signed in, resolved once per request.

The cookie carries an opaque random token; the database keeps only its SHA-256, with the
absolute end (12 h by default) and the revocation. The idle limit (30 min) is kept without a
database write per request: the cookie also carries the time it was last used, signed with
a key derived from this dock's signing key, and each answer renews it. A copied cookie is no
better than the browser's own: it ends at the same idle and absolute limits, and log-out,
a password change or disabling the user revokes it in the database at once.

Log-ins are throttled per account and per address over a window, counted from the
`login_attempts` rows every process writes, so several workers or docks share the count."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import LoginAttempt, User, WebSession
from ingestd.passwords import matches
from ingestd.evidence.access import Credential, Person
from ingestd.users import ROLE_ZH, Role

COOKIE = "ingestd_session"
LOGIN_CSRF_COOKIE = "ingestd_login_csrf"
PIN_IDLE_FLOOR_S = 10 * 60  # a clip played through at the dock makes no request meanwhile


class LoginOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # unknown badge, wrong password, disabled: one answer for all three
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Viewer:
    """The signed-in person, as every page and file route sees them."""

    badge: str
    name: str
    role: Role
    team: str | None
    token_hash: str
    must_change_password: bool
    kind: str  # password | pin

    @property
    def role_zh(self) -> str:
        return ROLE_ZH[self.role]

    @property
    def person(self) -> Person:
        """Who acts, for the one access decision (evidence/access.py)."""
        return Person(self.badge, self.role, self.team, Credential(self.kind))

    def answers_for(self, badge: str | None, team: str | None) -> bool:
        return self.person.answers_for(badge, team)


@dataclass(frozen=True)
class SignIn:
    outcome: LoginOutcome
    token: str | None = None
    viewer: Viewer | None = None


def _key(app: App) -> bytes:
    return hmac.new(app.data.signing_key.read_bytes(), b"ingestd web console: cookies and forms",
                    hashlib.sha256).digest()


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(app: App, *parts: str) -> str:
    return hmac.new(_key(app), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def cookie_value(app: App, token: str, seen: datetime) -> str:
    stamp = str(int(seen.timestamp()))
    return f"{token}.{stamp}.{_mac(app, token, stamp)}"


def csrf_token(app: App, viewer: Viewer) -> str:
    """The form token of a session: bound to it, so a page of another session cannot post."""
    return _mac(app, "csrf", viewer.token_hash)


def csrf_ok(app: App, viewer: Viewer, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(csrf_token(app, viewer), given or "")


def login_csrf_ok(cookie: str | None, given: str | None) -> bool:
    """Before a log-in there is no session: the form's token must equal its cookie's."""
    return bool(cookie) and bool(given) and hmac.compare_digest(cookie or "", given or "")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def throttled(app: App, badge: str, address: str) -> bool:
    """Whether a log-in of `badge` from `address` must wait. Failures are counted per account
    and address together, per address, and per account: an address that keeps failing waits
    longer each time (doubling up to the window); an account tried from many addresses makes
    every unknown address wait the same way, while an address the owner signed in from before
    waits only a short delay after the last failure, so an attacker cannot lock the owner out."""
    w = app.settings.web
    now = app.clock.now()
    since = now - timedelta(minutes=w.login_window_minutes)
    failed = (LoginAttempt.at >= since, LoginAttempt.ok.is_(False))
    with app.db.reading() as s:
        def failures(*where) -> tuple[int, datetime | None]:
            n, last = s.execute(select(func.count(), func.max(LoginAttempt.at)).where(*failed, *where)).one()
            return n, last

        pair = failures(LoginAttempt.badge == badge, LoginAttempt.address == address)
        account = failures(LoginAttempt.badge == badge)
        by_address = failures(LoginAttempt.address == address)[0]
        known = account[0] >= w.login_failures_per_account and s.execute(select(LoginAttempt.id).where(
            LoginAttempt.badge == badge, LoginAttempt.address == address, LoginAttempt.ok.is_(True),
            LoginAttempt.at >= now - timedelta(days=KNOWN_ADDRESS_DAYS)).limit(1)).first() is not None
    if by_address >= w.login_failures_per_address or _backing_off(pair, w.login_failures_per_account, now, w):
        return True
    if known:
        return account[1] is not None and now < account[1] + timedelta(seconds=w.login_known_address_delay_s)
    return _backing_off(account, w.login_failures_per_account, now, w)


KNOWN_ADDRESS_DAYS = 90


def _backing_off(counted: tuple[int, datetime | None], limit: int, now: datetime, w) -> bool:
    """At the limit a minute's wait after the last failure, doubling with each failure past
    it, never longer than the window."""
    n, last = counted
    if n < limit or last is None:
        return False
    wait = min(timedelta(minutes=2 ** min(n - limit, 16)), timedelta(minutes=w.login_window_minutes))
    return now < last + wait


def tried_accounts(app: App) -> dict[str, tuple[int, int]]:
    """Accounts with failed log-ins in the window: failures and distinct addresses, for the admin."""
    since = app.clock.now() - timedelta(minutes=app.settings.web.login_window_minutes)
    with app.db.reading() as s:
        return {badge: (n, addresses) for badge, n, addresses in s.execute(
            select(LoginAttempt.badge, func.count(), func.count(func.distinct(LoginAttempt.address)))
            .where(LoginAttempt.at >= since, LoginAttempt.ok.is_(False)).group_by(LoginAttempt.badge))}


def sign_in(app: App, badge: str, secret: str, address: str, kind: str = "password") -> SignIn:
    """Check a badge and its password (or, on the dock's screen, its PIN); every try is audited
    under the badge given, failures without saying which part was wrong."""
    badge = badge.strip()[:32]
    if throttled(app, badge, address):
        return SignIn(LoginOutcome.THROTTLED)
    with app.db.reading() as s:
        user = s.get(User, badge)
        stored = None if user is None or user.disabled else (user.pin_hash if kind == "pin" else user.password_hash)
    ok = matches(stored, secret)
    now = app.clock.now()
    token = secrets.token_urlsafe(32) if ok else None
    with app.changes.begin(badge if ok else "anonymous") as ch:
        ch.session.add(LoginAttempt(badge=badge, address=address, at=now, ok=ok))
        if not ok:
            ch.record("web.login_failed", "user", badge, address=address, kind=kind)
            return SignIn(LoginOutcome.REFUSED)
        hours = app.settings.web.session_absolute_hours if kind == "password" else 1
        ch.session.add(WebSession(token_hash=_hash(token), badge=badge, created_at=now,
                                  expires_at=now + timedelta(hours=hours), address=address, kind=kind))
        ch.record("web.login", "user", badge, address=address, kind=kind)
    return SignIn(LoginOutcome.OK, token, _viewer(user, _hash(token), kind))


def check_current_password(app: App, viewer: Viewer, given: str, address: str) -> LoginOutcome:
    """The current password before a change of it, guessed no more freely than at the log-in:
    each wrong one is a failed log-in (counted and audited the same way), and once this account
    has failed `login_failures_per_account` times from this address within the window, the
    session ends. Only this address's failures count: someone failing to log in to the account
    elsewhere must not end its owner's session."""
    if _guessed_too_often(app, viewer.badge, address):
        _end_for_guessing(app, viewer, address)
        return LoginOutcome.THROTTLED
    with app.db.reading() as s:
        user = s.get(User, viewer.badge)
        stored = user.password_hash if user is not None else None
    if matches(stored, given):
        return LoginOutcome.OK
    with app.changes.begin(viewer.badge) as ch:
        ch.session.add(LoginAttempt(badge=viewer.badge, address=address, at=app.clock.now(), ok=False))
        ch.record("web.password_check_failed", "user", viewer.badge, address=address)
    if _guessed_too_often(app, viewer.badge, address):
        _end_for_guessing(app, viewer, address)
        return LoginOutcome.THROTTLED
    return LoginOutcome.REFUSED


def _guessed_too_often(app: App, badge: str, address: str) -> bool:
    w = app.settings.web
    since = app.clock.now() - timedelta(minutes=w.login_window_minutes)
    with app.db.reading() as s:
        n = s.execute(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.badge == badge, LoginAttempt.address == address, LoginAttempt.at >= since,
            LoginAttempt.ok.is_(False))).scalar_one()
    return n >= w.login_failures_per_account


def _end_for_guessing(app: App, viewer: Viewer, address: str) -> None:
    with app.changes.begin(viewer.badge) as ch:
        row = ch.session.get(WebSession, viewer.token_hash)
        if row is not None and row.revoked_at is None:
            row.revoked_at = app.clock.now()
            ch.record("web.session_ended", "user", viewer.badge, address=address,
                      reason="too many wrong current passwords")


def _viewer(user: User, token_hash: str, kind: str) -> Viewer:
    return Viewer(user.badge, user.name, Role(user.role), user.team, token_hash,
                  bool(user.password_temporary) and kind == "password", kind)


def pin_idle(app: App) -> timedelta:
    """How long a badge + PIN session at the dock lives untouched on the server: the screen
    signs the officer out after `kiosk_idle_s`; the server allows for a clip played through
    without a request, but not for the password session's half hour, so a PIN left signed in
    at a shared screen is not there for the next person to use."""
    return timedelta(seconds=max(PIN_IDLE_FLOOR_S, 5 * app.settings.web.kiosk_idle_s))


def resolve(app: App, cookie: str | None) -> tuple[Viewer, str] | None:
    """The viewer behind a cookie and the token to renew it with, or None when it is missing,
    forged, idle too long, past its end, revoked, or its user disabled."""
    if not cookie or cookie.count(".") != 2:
        return None
    token, stamp, mac = cookie.split(".")
    if not stamp.isdigit() or not hmac.compare_digest(_mac(app, token, stamp), mac):
        return None
    now = app.clock.now()
    seen = datetime.fromtimestamp(int(stamp), timezone.utc)
    if now - seen > timedelta(minutes=app.settings.web.session_idle_minutes) or seen > now + timedelta(minutes=5):
        return None
    with app.db.reading() as s:
        row = s.get(WebSession, _hash(token))
        if row is None or row.revoked_at is not None or row.expires_at <= now:
            return None
        if row.kind == Credential.PIN and now - seen > pin_idle(app):
            return None
        user = s.get(User, row.badge)
        if user is None or user.disabled:
            return None
        return _viewer(user, row.token_hash, row.kind), token


def sign_out(app: App, viewer: Viewer) -> None:
    with app.changes.begin(viewer.badge) as ch:
        row = ch.session.get(WebSession, viewer.token_hash)
        if row is not None and row.revoked_at is None:
            row.revoked_at = app.clock.now()
            ch.record("web.logout", "user", viewer.badge)
