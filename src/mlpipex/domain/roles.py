"""The roles a user holds, globally or on one model, from least to most."""

from __future__ import annotations

from mlpipex.errors import Invalid

ROLES = ("viewer", "editor", "approver", "admin")


def unknown_roles(roles: list[str]) -> list[str]:
    return [r for r in roles if r not in ROLES]


def check_roles(roles: list[str]) -> list[str]:
    """The roles, known ones only (Invalid naming the others), each once, least first."""
    if bad := unknown_roles(roles):
        raise Invalid(f"unknown role(s) {', '.join(bad)}", hint="roles are " + ", ".join(ROLES))
    return sorted(set(roles), key=ROLES.index)
