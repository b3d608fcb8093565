"""Event kinds and the hash chain of the audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64

MODEL_CREATED = "model_created"
MODEL_UPDATED = "model_updated"
POLICY_SET = "policy_set"
VERSION_REGISTERED = "version_registered"
REGISTRATION_REFUSED = "registration_refused"
TRANSITION_REQUESTED = "transition_requested"
TRANSITION_APPROVED = "transition_approved"
TRANSITION_DONE = "transition_done"
TRANSITION_REFUSED = "transition_refused"
ALIAS_SET = "alias_set"
ALIAS_DELETED = "alias_deleted"
TAG_SET = "tag_set"
TAG_DELETED = "tag_deleted"
VERSION_UPDATED = "version_updated"
USER_CREATED = "user_created"
USER_UPDATED = "user_updated"
ROLE_GRANTED = "role_granted"
TOKEN_CREATED = "token_created"
TOKEN_REVOKED = "token_revoked"
WEBHOOK_CREATED = "webhook_created"
WEBHOOK_DELETED = "webhook_deleted"
MODEL_DELETED = "model_deleted"
VERSION_DELETED = "version_deleted"
ENDPOINT_APPLIED = "endpoint_applied"
ENDPOINT_DELETED = "endpoint_deleted"
DEPLOYMENT_STARTED = "deployment_started"
DEPLOYMENT_STEP = "deployment_step"
DEPLOYMENT_SUCCEEDED = "deployment_succeeded"
DEPLOYMENT_PAUSED = "deployment_paused"
ROLLBACK = "rollback"
ALERT_RAISED = "alert_raised"
ALERT_CLEARED = "alert_cleared"
WORKSPACE_CREATED = "workspace_created"
WORKSPACE_UPDATED = "workspace_updated"
WORKSPACE_ROLE_SET = "workspace_role_set"
QUOTA_SET = "quota_set"

KINDS = frozenset(v for k, v in dict(globals()).items() if k.isupper() and k != "GENESIS")

# Payload fields only admins read back: a webhook URL may carry a credential in its path or query.
ADMIN_ONLY_FIELDS: dict[str, frozenset[str]] = {WEBHOOK_CREATED: frozenset({"url"})}
REDACTED = "(redacted)"


def event_hash(
    *,
    seq: int,
    time: int,
    actor: str,
    kind: str,
    model: str | None,
    version: int | None,
    reason: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    """sha256 over the canonical JSON of every field and the previous hash."""
    body = json.dumps(
        [seq, time, actor, kind, model, version, reason, payload, prev_hash],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(body.encode()).hexdigest()
