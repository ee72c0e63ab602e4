"""petset's own kinds (petset.dev/v1alpha1) as pydantic models, and their CRD schemas.

The models are the single source of truth: `validate_petset_kind` checks user
input with them, `parse_mysqlcluster` hands engines a typed spec with defaults
filled in, and `json_schema` derives the OpenAPI v3 schema the `kube` layer puts
in the CRDs. Field names are Kubernetes-style camelCase in YAML and snake_case
in Python; unknown fields are errors, as in a strict CRD.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from petset.api.errors import InvalidError
from petset.api.meta import Obj
from petset.api.units import DURATION_PATTERN, QUANTITY_PATTERN, parse_duration, parse_quantity


def _quantity(value: str) -> str:
    if parse_quantity(value) <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return value


def _duration(value: str) -> str:
    parse_duration(value)
    return value


def _cron(value: str) -> str:
    from croniter import croniter

    if not croniter.is_valid(value):
        raise ValueError(
            f"{value!r} is not a cron schedule; use five fields 'minute hour day month weekday', "
            "e.g. '0 3 * * *' (03:00 every day) or '*/15 * * * *'"
        )
    return value


Quantity = Annotated[
    str,
    AfterValidator(_quantity),
    WithJsonSchema({"type": "string", "pattern": QUANTITY_PATTERN}),
]
Duration = Annotated[
    str,
    AfterValidator(_duration),
    WithJsonSchema({"type": "string", "pattern": DURATION_PATTERN}),
]
CronSchedule = Annotated[str, AfterValidator(_cron), WithJsonSchema({"type": "string"})]
# Free-form objects: checked by our own code, preserved as given by the API server.
FreeForm = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]
MyCnf = Annotated[
    dict[str, str | int | float | bool],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]


class _Model(BaseModel):
    # strict: "3" is not an integer, as in Kubernetes; forbid: unknown fields are errors
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )


class StorageSpec(_Model):
    """The volume each member gets (a PersistentVolumeClaim template)."""

    size: Quantity = Field(default="1Gi", description="Requested size, e.g. 1Gi or 500Mi.")
    storage_class_name: str | None = Field(
        default=None, description="StorageClass; default if unset."
    )


class ServiceEndpoint(_Model):
    """One of the cluster's two Services: read-write (primary) or read-only (replicas)."""

    type: Literal["ClusterIP", "None"] = Field(
        default="ClusterIP",
        description="ClusterIP gives a virtual IP; None makes a headless Service.",
    )
    port: int = Field(default=3306, ge=1, le=65535)


class ServiceSpec(_Model):
    rw: ServiceEndpoint = Field(default_factory=ServiceEndpoint)
    ro: ServiceEndpoint = Field(default_factory=ServiceEndpoint)


def _store_url(value: str) -> str:
    from urllib.parse import urlsplit

    url = urlsplit(value)
    path_ok = url.path.startswith("/") and ".." not in url.path.split("/")
    if url.scheme != "file" or url.netloc not in ("", "localhost") or not path_ok:
        raise ValueError(
            f"{value!r} is not a supported backup store URL; use file:///absolute/path "
            "(a directory store; the only kind so far)"
        )
    if url.query or url.fragment:
        raise ValueError(f"{value!r}: a store URL takes no query or fragment")
    return value


class BackupRef(_Model):
    name: str = Field(
        min_length=1,
        description="Name of a Backup in the same namespace (in `store`, the name it has there).",
    )
    store: Annotated[str, AfterValidator(_store_url)] | None = Field(
        default=None,
        description="URL of the backup store that holds it, e.g. file:///srv/petset-backups "
        "(default: petset's own store). Archived binlogs for pointInTime are read from it too.",
    )


def _gtid(value: str) -> str:
    for part in value.split(","):
        bits = part.strip().split("-")
        if len(bits) != 3 or not all(b.isdigit() for b in bits):
            raise ValueError(
                f"{value!r} is not a GTID position; use domain-server-seq, e.g. 0-100-42"
            )
    return value


def _timestamp(value: str) -> str:
    import re

    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", value):
        raise ValueError(f"{value!r} is not a UTC timestamp; use e.g. 2030-01-31T12:00:00Z")
    return value


class PointInTime(_Model):
    """Where a point-in-time restore stops: one of timestamp (exclusive: the
    last transaction replayed committed before it) or gtid (inclusive)."""

    timestamp: Annotated[str, AfterValidator(_timestamp)] | None = Field(
        default=None, description="Replay binlogs up to this UTC time (exclusive)."
    )
    gtid: Annotated[str, AfterValidator(_gtid)] | None = Field(
        default=None, description="Replay binlogs up to and including this GTID."
    )
    cluster: str | None = Field(
        default=None,
        description="Source cluster whose newest Backup before the point is the base "
        "(default: the cluster of bootstrap.fromBackup).",
    )

    @model_validator(mode="after")
    def _one_target(self) -> PointInTime:
        if (self.timestamp is None) == (self.gtid is None):
            raise ValueError("give exactly one of timestamp and gtid")
        return self


class BootstrapSpec(_Model):
    from_backup: BackupRef | None = Field(default=None, description="Restore this Backup first.")
    point_in_time: PointInTime | None = Field(
        default=None, description="Then replay archived binlogs up to this point."
    )

    @model_validator(mode="after")
    def _has_base(self) -> BootstrapSpec:
        if self.from_backup is None and (
            self.point_in_time is None or not self.point_in_time.cluster
        ):
            raise ValueError(
                "name a base: fromBackup.name, or pointInTime.cluster (its newest Backup "
                "before the point is used)"
            )
        return self


class BinlogArchiveSpec(_Model):
    enabled: bool = Field(
        default=False,
        description="Archive the primary's binlogs continuously into the backup store "
        "(point-in-time recovery).",
    )


# my.cnf parameters petset manages itself: replication and failover depend on them.
MYSQL_RESERVED_PARAMETERS = frozenset(
    {
        "server_id", "bind_address", "port", "datadir", "socket", "log_bin",
        "log_slave_updates", "gtid_strict_mode", "report_host", "read_only",
        "rpl_semi_sync_master_enabled", "rpl_semi_sync_slave_enabled",
        "rpl_semi_sync_master_wait_point", "init_rpl_role", "pid_file", "relay_log_recovery",
        "sync_binlog", "innodb_flush_log_at_trx_commit",
    }
)  # fmt: skip


def _mycnf(params: dict[str, str | int | float | bool]) -> dict[str, str | int | float | bool]:
    """Reserved, unknown and ill-typed parameters, one 'key: reason' line each
    (`_problems` turns each line into spec.config.<key>)."""
    from petset.api import mariadb_params

    lines = [
        f"{k}: managed by petset (replication and failover depend on it); remove it"
        for k in sorted(params)
        if k.replace("-", "_") in MYSQL_RESERVED_PARAMETERS
    ]
    rest = {k: v for k, v in params.items() if k.replace("-", "_") not in MYSQL_RESERVED_PARAMETERS}
    lines += mariadb_params.problems(rest)
    if lines:
        raise ValueError("\n".join(lines))
    return params


class RolloutSpec(_Model):
    """How the engine rolls members (replicas first, the primary last)."""

    member_timeout_seconds: int = Field(
        default=300,
        ge=5,
        le=86_400,
        description="A restarted member must be healthy and caught up within this long, "
        "or the rollout halts there.",
    )


class MySQLClusterSpec(_Model):
    replicas: int = Field(
        default=3, ge=1, le=9, description="Members: one primary, the rest replicas."
    )
    version: str | None = Field(default=None, description="Server version, e.g. 10.11.")
    image: str | None = Field(default=None, description="Server image (Kubernetes backend).")
    storage: StorageSpec = Field(default_factory=StorageSpec)
    config: Annotated[MyCnf, AfterValidator(_mycnf)] = Field(
        default_factory=dict, description="my.cnf [mysqld] parameters."
    )
    semi_sync: bool = Field(default=True, description="Semi-synchronous replication (AFTER_SYNC).")
    semi_sync_timeout_ms: int = Field(default=3000, ge=0, le=3_600_000)
    credentials_secret: str | None = Field(
        default=None, description="Secret with root and user passwords."
    )
    service: ServiceSpec = Field(default_factory=ServiceSpec)
    pod_template: FreeForm | None = Field(
        default=None, description="Overrides merged into the pods."
    )
    bootstrap: BootstrapSpec | None = None
    backup_store: StorageSpec | None = Field(default=None, description="Volume that holds backups.")
    binlog_archive: BinlogArchiveSpec | None = Field(
        default=None, description="Continuous binlog archiving for point-in-time recovery."
    )
    rollout: RolloutSpec = Field(default_factory=RolloutSpec)
    hibernate: bool = Field(
        default=False,
        description="Stop every member, keep the volumes; false wakes the cluster with the "
        "same primary.",
    )


class BackupSpec(_Model):
    cluster: str = Field(min_length=1, description="The MySQLCluster to back up.")
    source: str | None = Field(
        default=None,
        description="Member to back up from (default: a healthy replica, the primary only "
        "when no replica is healthy).",
    )


class BackupScheduleSpec(_Model):
    cluster: str = Field(min_length=1, description="The MySQLCluster to back up.")
    schedule: CronSchedule = Field(description="Cron schedule, e.g. '0 3 * * *'.")
    keep: int | None = Field(default=None, ge=1, description="Keep at most this many Backups.")
    max_age: Duration | None = Field(
        default=None, description="Delete Backups older than this (7d)."
    )
    suspend: bool = False


class _Object(_Model):
    api_version: str
    kind: str
    metadata: FreeForm = Field(default_factory=dict)
    # status is written by controllers; user input may carry it (copied from `get`)
    status: FreeForm | None = None


class MySQLCluster(_Object):
    spec: MySQLClusterSpec = Field(default_factory=MySQLClusterSpec)


class Backup(_Object):
    spec: BackupSpec


class BackupSchedule(_Object):
    spec: BackupScheduleSpec


MODELS: dict[str, type[_Object]] = {
    "MySQLCluster": MySQLCluster,
    "Backup": Backup,
    "BackupSchedule": BackupSchedule,
}


# -- errors as "field.path: reason" ---------------------------------------------------------

_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "string": "a string",
    "str": "a string",
    "bool": "a boolean (true or false)",
    "dict": "a mapping (key: value)",
    "model": "a mapping (key: value)",
    "list": "a list",
}
_UNION_TAGS = {"str", "int", "float", "bool"}


def _path(loc: tuple[int | str, ...]) -> str:
    from petset.api.k8s_schema import field_path

    return field_path(loc)


def _reason(error: Any, aliases: set[str]) -> str:
    from petset.api.k8s_schema import short

    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return _unknown(str(error["loc"][-1]), aliases)
    if kind == "greater_than_equal":
        return f"{short(value)} is less than the minimum of {ctx['ge']}"
    if kind == "less_than_equal":
        return f"{short(value)} is more than the maximum of {ctx['le']}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "literal_error":
        return f"{short(value)} is not supported; use one of: {ctx['expected']}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    base = kind.removesuffix("_type").removesuffix("_parsing")
    if base in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[base]}, not {short(value)}"
    return str(error["msg"])


def _unknown(name: str, aliases: set[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(aliases), n=1, cutoff=0.75)
    hint = f'; did you mean "{close[0]}"?' if close else ""
    return f'unknown field "{name}"{hint}'


def _aliases(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    """Every camelCase field name of a model and the models inside it (for 'did you mean')."""
    from typing import get_args

    seen = seen if seen is not None else set()
    seen.add(model)
    names: set[str] = set()
    for name, info in model.model_fields.items():
        names.add(info.alias or name)
        stack: list[Any] = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in seen:
                names |= _aliases(tp, seen)
            stack.extend(get_args(tp))
    return names


def _problems(err: ValidationError, model: type[BaseModel]) -> list[str]:
    aliases = _aliases(model)
    out: list[str] = []
    union_paths: set[str] = set()
    for error in err.errors():
        loc = tuple(error["loc"])
        if loc and loc[-1] in _UNION_TAGS and loc[:2] == ("spec", "config"):
            path = _path(loc[:-1])
            if path not in union_paths:
                union_paths.add(path)
                out.append(f"{path}: must be a string, a number or a boolean")
            continue
        if loc == ("spec", "config") and error["type"] == "value_error":
            # one line per parameter, each named as its own field
            out += [f"spec.config.{line}" for line in _reason(error, aliases).splitlines()]
            continue
        out.append(f"{_path(loc) or '(object)'}: {_reason(error, aliases)}")
    return out


def validate_petset_kind(obj: Obj) -> list[str]:
    """'field.path: reason' for every problem of a petset.dev object (empty when valid)."""
    model = MODELS[str(obj.get("kind"))]
    try:
        model.model_validate(obj)
    except ValidationError as err:
        return _problems(err, model)
    return []


def parse_mysqlcluster(obj: Obj) -> MySQLCluster:
    """The typed, defaulted MySQLCluster; InvalidError lists every problem."""
    try:
        return MySQLCluster.model_validate(obj)
    except ValidationError as err:
        name = (obj.get("metadata") or {}).get("name", "?")
        raise InvalidError(
            f"MySQLCluster/{name} is invalid", _problems(err, MySQLCluster)
        ) from None


def parse_petset_object(obj: Obj) -> _Object:
    """Any petset.dev object as its model (MySQLCluster, Backup, BackupSchedule)."""
    model = MODELS[str(obj.get("kind"))]
    try:
        return model.model_validate(obj)
    except ValidationError as err:
        name = (obj.get("metadata") or {}).get("name", "?")
        raise InvalidError(f"{obj.get('kind')}/{name} is invalid", _problems(err, model)) from None


# -- CRD schemas ------------------------------------------------------------------------------


def json_schema(kind: str) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of a petset kind, as a CRD's openAPIV3Schema wants it:
    no $ref, no anyOf for optional fields, no titles, no additionalProperties; defaults kept."""
    raw = MODELS[kind].model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _structural(raw, defs)
    props = schema["properties"]
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    props["metadata"] = {"type": "object"}
    props["status"] = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
    schema.pop("required", None)
    if kind != "MySQLCluster":  # a MySQLCluster with no spec takes every default
        schema["required"] = ["spec"]
    return schema


def _structural(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_structural(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = copy.deepcopy(node)
    ref = node.pop("$ref", None)
    if ref is not None:
        node = {**copy.deepcopy(defs[ref.rsplit("/", 1)[-1]]), **node}
    options = node.pop("anyOf", None)
    if options is not None:
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            node = {**copy.deepcopy(kept[0]), **node}
            node = _structural(node, defs)
        else:
            node["anyOf"] = kept
    node.pop("title", None)
    # structural schemas forbid additionalProperties beside properties; the API server
    # prunes unknown fields instead, and petset's own validation reports them
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if node.get("default") is None:
        node.pop("default", None)
    return {k: _structural(v, defs) if k != "default" else v for k, v in node.items()}
