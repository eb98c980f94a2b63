"""Open a gateway to the cluster of a kubeconfig context (the kubernetes client loads lazily here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from kubeuser import kubeconfig
from kubeuser.gateway import Gateway


@dataclass
class Target:
    """The admin's side: the kubeconfig files and the context kubeuser acts through."""

    loaded: kubeconfig.LoadedKubeconfig
    ctx: kubeconfig.ResolvedContext

    @property
    def namespace(self) -> str:
        return self.ctx.namespace or "default"


def resolve(kubeconfig_path: str | None, context: str | None) -> Target:
    loaded = kubeconfig.load(kubeconfig_path)
    return Target(loaded, loaded.context(context))


def open_gateway(target: Target) -> Gateway:
    from kubeuser import k8s  # heavy: only when a command really talks to a cluster

    config = target.ctx.client_config()
    return k8s.K8sGateway.from_config_dict(config, target.ctx.name, ca_pem=target.ctx.ca_pem())


@contextlib.contextmanager
def connected(kubeconfig_path: str | None, context: str | None) -> Iterator[tuple[Target, Gateway]]:
    """Resolve the admin's context and open one gateway for the whole command; always closed."""
    target = resolve(kubeconfig_path, context)
    gw = open_gateway(target)
    try:
        yield target, gw
    finally:
        gw.close()
