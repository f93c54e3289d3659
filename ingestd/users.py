"""People who act on the store and their roles, their passwords for the web console and the
PINs for the dock's screen. Here it is decided who may approve access (002 第19条), legal
holds and deletions; the web console and the command line resolve the acting person here."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.db.models import Officer, User, WebSession
from ingestd.db.states import Role
from ingestd.errors import UserError
from ingestd.findings import refused
from ingestd.passwords import check_new_password, check_new_pin, hash_secret, temporary_password


ROLES = tuple(r.value for r in Role)
ROLE_ZH = {"officer": "执法人员", "team_head": "队长", "legal": "法制科", "admin": "信息中心", "auditor": "督察"}
FIRST_ADMIN = "admin"


def add_user(app: App, badge: str, name: str, role: str, team: str | None, email: str | None,
             mobile: str | None, by: str, password: str | None = None, temporary: bool = False,
             known_team_only: bool = False) -> dict:
    """A user added, or changed if the badge exists. `known_team_only`: the team must be one the
    unit has (the console, which offers them as a list, asks for this)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if not badge.strip() or not name.strip():
        raise UserError("a user needs a badge (警号 or user name) and a name")
    if password is not None:
        check_new_password(password, badge)
    if mobile and not MOBILE.fullmatch(mobile):
        raise refused("user_mobile_bad", mobile=mobile[:40])
    if email and not EMAIL.fullmatch(email):
        raise refused("user_email_bad", email=email[:80])
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, ("admin",), "add or change users")
        if known_team_only:
            check_team(ch.session, team)
        ch.lock(f"user:{badge}")  # two docks' admins adding the same person at once
        user = ch.session.get(User, badge)
        action = "user.updated" if user else "user.added"
        if user is None:
            user = User(badge=badge, created_at=app.clock.now(), disabled=False, password_temporary=False)
            ch.session.add(user)
        user.name, user.role, user.team, user.email, user.mobile = name, role, team, email, mobile
        if password is not None:
            _set_password(user, password, temporary, app)
        ch.record(action, "user", badge, name=name, role=role, team=team,
                  **({"password": "temporary" if temporary else "set"} if password is not None else {}))
        return user_dict(user)


MOBILE = re.compile(r"\+?[0-9][0-9 -]{5,19}")  # 138 0000 0001, +86-138…: alerts @-mention it
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def known_teams(session: Session) -> list[str]:
    """The unit's teams: those the roster names and those users already belong to (none
    before the first roster: a new unit sets its teams up as it goes)."""
    rows = session.execute(select(Officer.team).distinct()).scalars().all() + \
        session.execute(select(User.team).distinct()).scalars().all()
    return sorted({t for t in rows if t})


def check_team(session: Session, team: str | None) -> None:
    teams = known_teams(session)
    if team is not None and teams and team not in teams:
        # "1中队" for "一中队" would make a team of one that no report or team head sees.
        raise refused("team_unknown", team=team, teams="、".join(teams))


def _set_password(user: User, password: str, temporary: bool, app: App) -> None:
    user.password_hash, user.password_temporary = hash_secret(password), temporary
    user.password_changed_at = app.clock.now()


def set_password(app: App, badge: str, password: str, by: str, temporary: bool = False,
                 keep_session: str | None = None) -> dict:
    """A new password: by the person themself, or by an admin (then usually temporary). Every
    other log-in of that person ends with it."""
    check_new_password(password, badge)
    with app.changes.begin(by) as ch:
        user = _self_or_admin(ch.session, by, badge, "password")
        _set_password(user, password, temporary, app)
        ended = _end_sessions(ch.session, badge, app, keep=keep_session)
        ch.record("user.password_set", "user", badge, temporary=temporary, sessions_ended=ended)
        return user_dict(user)


def set_pin(app: App, badge: str, pin: str, by: str) -> dict:
    check_new_pin(pin, badge)
    with app.changes.begin(by) as ch:
        user = _self_or_admin(ch.session, by, badge, "PIN")
        user.pin_hash = hash_secret(pin)
        ch.record("user.pin_set", "user", badge)
        return user_dict(user)


def _self_or_admin(session: Session, by: str, badge: str, what: str) -> User:
    """A person's own secret, or anyone's set by a 信息中心 admin: the user whose it is."""
    actor = require_user(session, by)
    if actor.badge != badge and actor.role != "admin":
        raise UserError(f"user {by} may not set another person's {what}: needs {ROLE_ZH['admin']}")
    return require_user(session, badge)


def disable_user(app: App, badge: str, by: str) -> dict:
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, ("admin",), "disable users")
        if badge == by:
            raise UserError(f"user {by} may not disable their own account")
        user = ch.session.get(User, badge)
        if user is None:
            raise UserError(f"no user {badge!r}")
        if user.disabled:
            return user_dict(user)
        user.disabled = True
        ended = _end_sessions(ch.session, badge, app)
        ch.record("user.disabled", "user", badge, sessions_ended=ended)
        return user_dict(user)


def _end_sessions(session: Session, badge: str, app: App, keep: str | None = None) -> int:
    query = update(WebSession).where(WebSession.badge == badge, WebSession.revoked_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.token_hash != keep)
    return session.execute(query.values(revoked_at=app.clock.now())).rowcount or 0


def enabled_admins(session: Session) -> list[str]:
    """The badges of the 信息中心's enabled accounts: who set up the dock and who is alerted."""
    return list(session.execute(select(User.badge).where(User.role == Role.ADMIN, User.disabled.is_(False))
                                .order_by(User.badge)).scalars())


def ensure_first_admin(app: App) -> str | None:
    """`ingestd init` on a unit with no 信息中心 account yet: an `admin` with a one-time
    password (returned, shown once, to be changed at the first log-in)."""
    with app.db.reading() as s:
        if enabled_admins(s):
            return None
    password = temporary_password()
    with app.changes.begin("ingestd") as ch:
        ch.lock(f"user:{FIRST_ADMIN}")  # docks set up at once on one database: one first admin
        user = ch.session.get(User, FIRST_ADMIN)
        if user is None:
            user = User(badge=FIRST_ADMIN, name="信息中心管理员", created_at=app.clock.now())
            ch.session.add(user)
        user.role, user.disabled = "admin", False
        _set_password(user, password, True, app)
        ch.record("user.added", "user", FIRST_ADMIN, name=user.name, role="admin", password="temporary",
                  reason="the first administrator, made by `ingestd init`")
    return password


def needs_first_admin(app: App) -> bool:
    """No 信息中心 account was ever made: a dock installed by its package waits for one to be
    set on its own screen. Disabled accounts count: a unit that disabled its every admin is not
    open to whoever stands at the dock (it restores one with `ingestd init` at the console)."""
    with app.db.reading() as s:
        return not _any_admin(s)


def _any_admin(session: Session) -> bool:
    return session.execute(select(User.badge).where(User.role == Role.ADMIN).limit(1)).first() is not None


def set_up_first_admin(app: App, badge: str, name: str, password: str) -> dict:
    """The first administrator, set by the installer on the dock's own screen (the first-run
    form): no password is ever printed or written to a file. Refused once any admin account
    exists, also when two screens submit at once."""
    badge, name = badge.strip(), name.strip()
    if not badge or not name:
        raise UserError("a user needs a badge (警号 or user name) and a name")
    check_new_password(password, badge)
    with app.changes.begin("ingestd") as ch:
        ch.lock("first-admin")
        if _any_admin(ch.session):
            raise refused("first_admin_exists")
        user = ch.session.get(User, badge) or User(badge=badge, created_at=app.clock.now())
        ch.session.add(user)
        user.name, user.role, user.disabled = name, "admin", False
        _set_password(user, password, False, app)
        ch.record("user.added", "user", badge, name=name, role="admin", password="set",
                  reason="the first administrator, set on the dock's own screen")
        return user_dict(user)


def user_dict(user: User) -> dict:
    return {"badge": user.badge, "name": user.name, "role": user.role, "role_zh": ROLE_ZH[user.role],
            "team": user.team, "email": user.email, "mobile": user.mobile, "disabled": bool(user.disabled),
            "has_password": user.password_hash is not None, "password_temporary": bool(user.password_temporary),
            "has_pin": user.pin_hash is not None}


def list_users(app: App) -> list[dict]:
    with app.db.reading() as s:
        return [user_dict(u) for u in s.execute(select(User).order_by(User.team, User.badge)).scalars()]


def require_user(session: Session, badge: str, roles: tuple[str, ...] | None = None, doing: str = "") -> User:
    """The acting user, who must exist, be enabled and (when `roles` is given) hold one of them."""
    user = session.get(User, badge)
    if user is None or user.disabled:
        raise UserError(f"unknown or disabled user {badge!r} (add with `ingestd users add`)")
    if roles and user.role not in roles:
        allowed = "/".join(ROLE_ZH[r] for r in roles)
        raise UserError(f"user {badge} ({ROLE_ZH[user.role]}) may not {doing or 'do this'}: needs {allowed}")
    return user


def acting(app: App, badge: str) -> str:
    """The person named by the command line's --by: an enabled user, resolved once."""
    with app.db.reading() as s:
        return require_user(s, badge).badge
