"""The kubeconfig group: the file parses, and the context, its cluster and its user exist."""

from __future__ import annotations

from kubeuser import kubeconfig
from kubeuser.checks import FAIL, PASS
from kubeuser.errors import KubeuserError
from kubeuser.workflows.doctor.diagnosis import Diagnosis, Step


def check_kubeconfig(d: Diagnosis) -> None:
    try:
        d.loaded = kubeconfig.load(d.opts.kubeconfig)
    except KubeuserError as exc:
        d.add("kubeconfig", FAIL, exc.message, exc.hint)
        return
    files = [str(p) for p, _ in d.loaded.documents]
    d.report.kubeconfig = files
    d.add("kubeconfig", PASS, ", ".join(files))


def check_context(d: Diagnosis) -> None:
    assert d.loaded is not None
    try:
        ctx = d.loaded.context(d.opts.context)
    except KubeuserError as exc:
        d.add("context", FAIL, exc.message, exc.hint)
        return
    d.ctx = ctx
    ns = d.opts.namespace or ctx.namespace or "default"
    r = d.report
    r.context, r.cluster, r.user, r.namespace = ctx.name, ctx.cluster_name, ctx.user_name, ns
    d.add("context", PASS, f"context {ctx.name}: cluster {ctx.cluster_name}, user {ctx.user_name}, namespace {ns}")


STEPS = (
    Step("kubeconfig", "kubeconfig parses", check_kubeconfig),
    Step("context", "context, cluster and user exist", check_context),
)
