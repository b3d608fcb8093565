"""Queries over the registry's tables: models, versions, aliases, tags, transition requests.

Every function takes the connection of a transaction opened by ``Store.read()``/``write()`` and
returns frozen records (``records.py``) or the domain's values, never rows. The modules are
re-exported here: callers write ``registry.version_row(...)`` whichever module holds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex import lazy

if TYPE_CHECKING:
    from mlpipex.store.registry.aliases import (
        alias_version,
        delete_alias,
        delete_aliases_of,
        set_alias,
    )
    from mlpipex.store.registry.details import to_versions
    from mlpipex.store.registry.files import all_files, referenced_digests, stored_sizes
    from mlpipex.store.registry.models import (
        delete_model,
        delete_model_tag,
        ensure_model,
        insert_model,
        list_model_rows,
        model_row,
        model_with_details,
        set_model_tag,
        set_policy,
        stage_summary,
        to_model,
        update_model,
    )
    from mlpipex.store.registry.records import (
        ModelRecord,
        RequestRecord,
        VersionLookup,
        VersionRecord,
    )
    from mlpipex.store.registry.requests import (
        add_approval,
        insert_request,
        pending_request,
        requests_for,
        set_request_status,
    )
    from mlpipex.store.registry.settings import get_setting, record_setting
    from mlpipex.store.registry.versions import (
        allocate_version,
        allocate_version_of,
        delete_version,
        delete_version_tag,
        find_version,
        insert_files,
        insert_version,
        newest_version,
        set_artifact,
        set_description,
        set_stage,
        set_version_tag,
        set_version_tag_of,
        version_row,
        version_rows,
    )

# The queries load on first use, so that the records and the plain SQLite reader (records.py,
# sqlite_read.py) import without SQLAlchemy: the CLI's `show` starts without it.
_MODULES = {
    "records": ("ModelRecord", "RequestRecord", "VersionLookup", "VersionRecord"),
    "aliases": ("alias_version", "delete_alias", "delete_aliases_of", "set_alias"),
    "details": ("to_versions",),
    "files": ("all_files", "referenced_digests", "stored_sizes"),
    "models": (
        "delete_model",
        "delete_model_tag",
        "ensure_model",
        "insert_model",
        "list_model_rows",
        "model_row",
        "model_with_details",
        "set_model_tag",
        "set_policy",
        "stage_summary",
        "to_model",
        "update_model",
    ),
    "requests": (
        "add_approval",
        "insert_request",
        "pending_request",
        "requests_for",
        "set_request_status",
    ),
    "settings": ("get_setting", "record_setting"),
    "versions": (
        "allocate_version",
        "allocate_version_of",
        "delete_version",
        "delete_version_tag",
        "find_version",
        "insert_files",
        "insert_version",
        "newest_version",
        "set_artifact",
        "set_description",
        "set_stage",
        "set_version_tag",
        "set_version_tag_of",
        "version_row",
        "version_rows",
    ),
}
_LAZY = {name: f"{__name__}.{m}" for m, names in _MODULES.items() for name in names}
__getattr__ = lazy.exports(__name__, _LAZY)
__all__ = [
    "ModelRecord",
    "RequestRecord",
    "VersionLookup",
    "VersionRecord",
    "add_approval",
    "alias_version",
    "all_files",
    "allocate_version",
    "allocate_version_of",
    "delete_alias",
    "delete_aliases_of",
    "delete_model",
    "delete_model_tag",
    "delete_version",
    "delete_version_tag",
    "ensure_model",
    "find_version",
    "get_setting",
    "insert_files",
    "insert_model",
    "insert_request",
    "insert_version",
    "list_model_rows",
    "model_row",
    "model_with_details",
    "newest_version",
    "pending_request",
    "record_setting",
    "referenced_digests",
    "requests_for",
    "set_alias",
    "set_artifact",
    "set_description",
    "set_model_tag",
    "set_policy",
    "set_request_status",
    "set_stage",
    "set_version_tag",
    "set_version_tag_of",
    "stage_summary",
    "stored_sizes",
    "to_model",
    "to_versions",
    "update_model",
    "version_row",
    "version_rows",
]
