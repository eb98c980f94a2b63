"""Open a gateway to the cluster of a kubeconfig context (the kubernetes client loads lazily here)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

from kubeuser import durations, hints, kubeconfig
from kubeuser.gateway import Gateway


@dataclass
class Target:
    """The admin's side: the kubeconfig files and the context kubeuser acts through."""

    loaded: kubeconfig.LoadedKubeconfig
    ctx: kubeconfig.ResolvedContext
    request_timeout: float | None = None  # --request-timeout: None = kubeuser's per-attempt bounds, 0 = none

    @property
    def namespace(self) -> str:
        return self.ctx.namespace or "default"


def request_timeout(text: str | None) -> float | None:
    """The seconds of ``--request-timeout TEXT`` (0 = no timeout), None when it was not given."""
    return None if text is None else durations.request_timeout(text)


def resolve(kubeconfig_path: str | None, context: str | None, request_timeout_text: str | None = None) -> Target:
    limit = request_timeout(request_timeout_text)  # bad input: an error before any file is read
    hints.use(kubeconfig_path, context)  # hints name them when they are not the defaults
    loaded = kubeconfig.load(kubeconfig_path)
    return Target(loaded, loaded.context(context), limit)


_SAID_INSECURE: set[str] = set()  # clusters whose insecure-skip-tls-verify was warned about (once a run)


def insecure_warning(cluster: str) -> str:
    return (
        f"cluster {cluster!r} has insecure-skip-tls-verify: the API server's certificate is not verified, so anyone "
        "in the network path can pose as it; set the cluster CA: kubectl config set-cluster "
        f"{cluster} --insecure-skip-tls-verify=false --certificate-authority=ca.crt --embed-certs=true"
    )


def open_gateway(target: Target) -> Gateway:
    from kubeuser import k8s  # heavy: only when a command really talks to a cluster

    if target.ctx.cluster.get("insecure-skip-tls-verify") is True and target.ctx.cluster_name not in _SAID_INSECURE:
        from kubeuser import render

        _SAID_INSECURE.add(target.ctx.cluster_name)
        render.ConsoleReporter(quiet=True).warn(insecure_warning(target.ctx.cluster_name))
    config = target.ctx.client_config()
    return k8s.K8sGateway.from_config_dict(
        config, target.ctx.name, ca_pem=target.ctx.ca_pem(), request_timeout=target.request_timeout
    )


@contextlib.contextmanager
def connected(
    kubeconfig_path: str | None, context: str | None, request_timeout_text: str | None = None
) -> Iterator[tuple[Target, Gateway]]:
    """Resolve the admin's context and open one gateway for the whole command; always closed."""
    target = resolve(kubeconfig_path, context, request_timeout_text)
    gw = open_gateway(target)
    try:
        yield target, gw
    finally:
        gw.close()
