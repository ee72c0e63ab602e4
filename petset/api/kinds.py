"""The object kinds petset serves: Kubernetes' own, field for field, plus petset's.

One table answers every "what is this kind called" question: the CLI resolves
`sts`, `statefulsets` and `StatefulSet` through it, the store keys objects by
`kind`, and validation picks the schema from `api_version`.
"""

from __future__ import annotations

from dataclasses import dataclass

PETSET_GROUP = "petset.dev"
PETSET_VERSION = "v1alpha1"
PETSET_API_VERSION = f"{PETSET_GROUP}/{PETSET_VERSION}"


@dataclass(frozen=True)
class KindInfo:
    """What petset knows about one object kind."""

    kind: str
    api_version: str
    plural: str
    short_names: tuple[str, ...] = ()
    namespaced: bool = True
    # True for kinds whose schema comes from Kubernetes' published OpenAPI
    # documents; False for petset's own kinds (schema from the pydantic models).
    builtin: bool = True

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def singular(self) -> str:
        return self.kind.lower()


KINDS: tuple[KindInfo, ...] = (
    KindInfo("Namespace", "v1", "namespaces", ("ns",), namespaced=False),
    KindInfo("Pod", "v1", "pods", ("po",)),
    KindInfo("Service", "v1", "services", ("svc",)),
    KindInfo("Endpoints", "v1", "endpoints", ("ep",)),
    KindInfo("ConfigMap", "v1", "configmaps", ("cm",)),
    KindInfo("Secret", "v1", "secrets"),
    KindInfo("PersistentVolumeClaim", "v1", "persistentvolumeclaims", ("pvc",)),
    KindInfo("PersistentVolume", "v1", "persistentvolumes", ("pv",), namespaced=False),
    KindInfo("Event", "v1", "events", ("ev",)),
    KindInfo("StatefulSet", "apps/v1", "statefulsets", ("sts",)),
    KindInfo("Deployment", "apps/v1", "deployments", ("deploy",)),
    KindInfo("ReplicaSet", "apps/v1", "replicasets", ("rs",)),
    KindInfo("ControllerRevision", "apps/v1", "controllerrevisions"),
    KindInfo("StorageClass", "storage.k8s.io/v1", "storageclasses", ("sc",), namespaced=False),
    KindInfo("MySQLCluster", PETSET_API_VERSION, "mysqlclusters", ("mysql", "my"), builtin=False),
    KindInfo("Backup", PETSET_API_VERSION, "backups", ("bk",), builtin=False),
    KindInfo("BackupSchedule", PETSET_API_VERSION, "backupschedules", ("bks",), builtin=False),
)

_BY_KIND = {k.kind: k for k in KINDS}
_BY_ALIAS: dict[str, KindInfo] = {}
for _k in KINDS:
    for _alias in (_k.kind.lower(), _k.plural, _k.singular, *_k.short_names):
        _BY_ALIAS[_alias] = _k


class UnknownKindError(LookupError):
    """A kind name (or alias) that petset does not serve."""


def kind_info(kind: str) -> KindInfo:
    """The registry entry for an exact kind name (`StatefulSet`)."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise UnknownKindError(f"unknown kind {kind!r}") from None


def resolve_kind(name: str) -> KindInfo:
    """Resolve what a user typed (`sts`, `statefulsets`, `StatefulSet`, `sts.apps`)."""
    alias = name.split(".", 1)[0].lower()
    found = _BY_ALIAS.get(alias)
    if found is None:
        known = ", ".join(sorted({k.plural for k in KINDS}))
        raise UnknownKindError(f"unknown kind {name!r}; known kinds: {known}")
    return found


def is_namespaced(kind: str) -> bool:
    return kind_info(kind).namespaced
