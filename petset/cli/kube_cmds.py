"""`petset render` (manifests for a real cluster) and `petset operator`.

Wired into the top-level app by `kube_cmds.register(app)`.
"""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from petset.api.errors import InvalidError
from petset.api.meta import Obj
from petset.cli.common import echo_err, to_yaml
from petset.cli.objects import read_inputs

render_app = typer.Typer(
    help="Print Kubernetes manifests: for petset input (-f), CRDs or the operator install.",
    no_args_is_help=False,
    invoke_without_command=True,
    rich_markup_mode=None,
)

K8sVersionOpt = Annotated[
    str, typer.Option("--k8s-version", help="Target Kubernetes version, e.g. 1.30.0.")
]


def _print(objs: list[Obj]) -> None:
    print("---\n".join(to_yaml(o) for o in objs), end="")


@render_app.callback()
def render(
    ctx: typer.Context,
    filename: Annotated[
        list[str] | None,
        typer.Option("--filename", "-f", help="File, directory or - (stdin); may repeat."),
    ] = None,
    k8s_version: K8sVersionOpt = "1.30.0",
    namespace: Annotated[str, typer.Option("--namespace", "-n")] = "default",
    image: Annotated[str, typer.Option(help="Member image for MySQLCluster pods.")] = "",
    generate_secrets: Annotated[
        bool, typer.Option(help="Render MySQLCluster Secrets with generated passwords.")
    ] = False,
) -> None:
    """Render petset input as manifests for kubectl apply; changes are reported on stderr."""
    if ctx.invoked_subcommand is not None:
        return
    if not filename:
        raise InvalidError("render: give -f FILE, or one of: petset render crds | operator")
    from petset.kube.render import DEFAULT_IMAGE, RenderOptions, render_texts

    opts = RenderOptions(
        k8s_version=k8s_version, image=image or DEFAULT_IMAGE, generate_secrets=generate_secrets
    )
    files = [(f["source"], f["text"]) for f in read_inputs(filename)]
    out = render_texts(files, opts, namespace=namespace)
    for note in out.notes:
        echo_err(f"note: {note}")
    _print(out.objects)


@render_app.command("crds")
def crds() -> None:
    """CustomResourceDefinitions for petset's kinds (apiextensions.k8s.io/v1)."""
    from petset.kube.crds import render_crds

    _print(render_crds())


@render_app.command("operator")
def operator_manifests(
    namespace: Annotated[str, typer.Option(help="Namespace the operator runs in.")] = (
        "petset-system"
    ),
    image: Annotated[str, typer.Option(help="Operator (and member) image.")] = "",
    watch_namespace: Annotated[
        str, typer.Option(help="Watch only this namespace (Role instead of ClusterRole).")
    ] = "",
    replicas: Annotated[int, typer.Option(min=1)] = 2,
) -> None:
    """Namespace, ServiceAccount, RBAC and the operator Deployment."""
    from petset.kube.install import InstallOptions, render_install
    from petset.kube.render import DEFAULT_IMAGE

    opts = InstallOptions(
        namespace=namespace,
        image=image or DEFAULT_IMAGE,
        watch_namespace=watch_namespace or None,
        replicas=replicas,
    )
    _print(render_install(opts))


def operator(
    namespace: Annotated[str, typer.Option("--namespace", "-n", help="Watch one namespace.")] = "",
    all_namespaces: Annotated[bool, typer.Option("--all-namespaces", "-A")] = False,
    kubeconfig: Annotated[str, typer.Option(help="Default: $KUBECONFIG, then in-cluster.")] = "",
    lease_namespace: Annotated[str, typer.Option(help="Where the leader Lease lives.")] = "",
    identity: Annotated[
        str, typer.Option(help="Leader-election identity (default: POD_NAME or host-pid).")
    ] = "",
    member_image: Annotated[str, typer.Option(help="Image for MySQL member pods.")] = "",
    install_crds: Annotated[
        bool, typer.Option(help="Create or update petset's CRDs at start.")
    ] = False,
) -> None:
    """Run petset's own controllers against a Kubernetes cluster, with leader election."""
    if bool(namespace) == all_namespaces:
        raise InvalidError("operator: give exactly one of --namespace NS or --all-namespaces")
    from petset.kube.operator import OperatorOptions, run_operator

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    opts = OperatorOptions(
        namespace=namespace or None,
        kubeconfig=kubeconfig or None,
        lease_namespace=lease_namespace or None,
        identity=identity or None,
        member_image=member_image or None,
        install_crds=install_crds,
    )
    code = run_operator(opts)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.add_typer(render_app, name="render")
    app.command("operator")(operator)
