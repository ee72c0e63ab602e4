"""Where each kind lives on a Kubernetes API server: group/version, plural, scope.

petset's registry (`petset.api.kinds`) covers what petset serves locally; the
operator also needs a few kinds that only exist on Kubernetes (Lease for leader
election, PodDisruptionBudget, CustomResourceDefinition), listed here. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from petset.api.kinds import KINDS, UnknownKindError


@dataclass(frozen=True)
class Resource:
    kind: str
    api_version: str
    plural: str
    namespaced: bool = True

    def collection_path(self, namespace: str | None) -> str:
        """/api/v1/namespaces/NS/pods, or every namespace when `namespace` is None or ''."""
        root = (
            f"/api/{self.api_version}"
            if "/" not in self.api_version
            else (f"/apis/{self.api_version}")
        )
        if self.namespaced and namespace:
            return f"{root}/namespaces/{namespace}/{self.plural}"
        return f"{root}/{self.plural}"

    def object_path(self, name: str, namespace: str) -> str:
        return f"{self.collection_path(namespace if self.namespaced else None)}/{name}"


# Kinds that exist only on Kubernetes; petset's local backend does not serve them.
KUBE_ONLY: tuple[Resource, ...] = (
    Resource("Lease", "coordination.k8s.io/v1", "leases"),
    Resource("PodDisruptionBudget", "policy/v1", "poddisruptionbudgets"),
    Resource("CustomResourceDefinition", "apiextensions.k8s.io/v1", "customresourcedefinitions",
             namespaced=False),
    Resource("ServiceAccount", "v1", "serviceaccounts"),
    Resource("Role", "rbac.authorization.k8s.io/v1", "roles"),
    Resource("RoleBinding", "rbac.authorization.k8s.io/v1", "rolebindings"),
    Resource("ClusterRole", "rbac.authorization.k8s.io/v1", "clusterroles", namespaced=False),
    Resource("ClusterRoleBinding", "rbac.authorization.k8s.io/v1", "clusterrolebindings",
             namespaced=False),
)  # fmt: skip

_TABLE: dict[str, Resource] = {
    **{k.kind: Resource(k.kind, k.api_version, k.plural, k.namespaced) for k in KINDS},
    **{r.kind: r for r in KUBE_ONLY},
}


def resource_for(kind: str, api_version: str | None = None) -> Resource:
    """The resource of `kind`; `api_version` overrides the version (policy/v1beta1 PDBs)."""
    try:
        found = _TABLE[kind]
    except KeyError:
        raise UnknownKindError(f"unknown kind {kind!r} on the Kubernetes backend") from None
    if api_version and api_version != found.api_version:
        return Resource(kind, api_version, found.plural, found.namespaced)
    return found
