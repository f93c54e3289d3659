"""People who act on the store and their roles. The web console's log-in builds on this;
here it decides who may approve access (002 第19条), legal holds and deletions."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.db.models import User
from ingestd.errors import UserError

ROLES = ("officer", "team_head", "legal", "admin")
ROLE_ZH = {"officer": "执法人员", "team_head": "队长", "legal": "法制科", "admin": "管理员"}
# Roles that see every team's recordings as part of their duty (法制审核, administration).
UNIT_WIDE = ("legal", "admin")


def add_user(app: App, badge: str, name: str, role: str, team: str | None, email: str | None,
             mobile: str | None, by: str) -> dict:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if not badge.strip() or not name.strip():
        raise UserError("a user needs a badge (警号 or user name) and a name")
    with app.changes.begin(by) as ch:
        user = ch.session.get(User, badge)
        action = "user.updated" if user else "user.added"
        if user is None:
            user = User(badge=badge, created_at=app.clock.now(), disabled=False)
            ch.session.add(user)
        user.name, user.role, user.team, user.email, user.mobile = name, role, team, email, mobile
        ch.record(action, "user", badge, name=name, role=role, team=team)
        return user_dict(user)


def user_dict(user: User) -> dict:
    return {"badge": user.badge, "name": user.name, "role": user.role, "role_zh": ROLE_ZH[user.role],
            "team": user.team, "email": user.email, "mobile": user.mobile, "disabled": user.disabled}


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
