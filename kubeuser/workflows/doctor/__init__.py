"""``kubeuser doctor``: check a kubeconfig identity step by step and say exactly why access fails.

The checks run in a fixed order, from the file to the server's verdict, in groups:

* kubeconfig (:mod:`.config`): kubeconfig → context;
* network (:mod:`.network`): server URL → DNS → TCP;
* TLS (:mod:`.tls`): the server certificate vs the kubeconfig's CA;
* credentials (:mod:`.credentials`): the kinds the user carries, then each kind's own checks — for a
  client certificate (:mod:`.certificate`): files → key matches certificate → validity window →
  subject (CN/O) → issued by the cluster CA;
* server (:mod:`.server`): authentication (401 or not) → authorization sample.

A check whose prerequisite failed is skipped with the reason; the identity is healthy when the API server
authenticates it (the one required check; authorization problems are warnings). Every check is one
:class:`kubeuser.checks.Check` in a :class:`DoctorReport`.
"""

from __future__ import annotations

from kubeuser.checks import FAIL, SKIP
from kubeuser.workflows.doctor import config, credentials, network, server, tls
from kubeuser.workflows.doctor.diagnosis import Diagnosis, DoctorOptions, DoctorReport, GatewayFactory, Step

#: every check, in the order it runs
STEPS: tuple[Step, ...] = (*config.STEPS, *network.STEPS, *tls.STEPS, *credentials.STEPS, *server.STEPS)
#: (id, title) of every check, in order
CHECKS: tuple[tuple[str, str], ...] = tuple((s.id, s.title) for s in STEPS)

__all__ = ["CHECKS", "STEPS", "DoctorOptions", "DoctorReport", "run"]


def run(opts: DoctorOptions, open_gateway: GatewayFactory | None = None) -> DoctorReport:
    """Run every check; never raises KubeuserError (each problem becomes a check)."""
    if open_gateway is None:
        from kubeuser.connect import open_gateway as default_open

        open_gateway = default_open
    d = Diagnosis(opts, open_gateway, STEPS)
    for step in STEPS:
        if step.id in d.status:
            continue
        reason = _not_applicable(d, step)
        if reason is not None:
            d.add(step.id, SKIP, reason)
        else:
            _guard(d, step)
    return d.report


def _not_applicable(d: Diagnosis, step: Step) -> str | None:
    """Why *step* cannot run for this identity (no kubeconfig, no context, a credential the user lacks)."""
    if step.id == "kubeconfig":
        return None
    if d.loaded is None:
        return "the kubeconfig could not be read"
    if step.id != "context" and d.ctx is None:
        return "the context could not be resolved"
    if step.kind is not None and step.kind not in d.kinds:
        return credentials.not_carried(d, step.kind)
    return None


def _guard(d: Diagnosis, step: Step) -> None:
    """Run one check; an unexpected exception fails that check instead of the whole report."""
    try:
        step.run(d)
    except Exception as exc:  # a bug or an input nobody foresaw: say so, keep going
        if step.id not in d.status:
            d.add(
                step.id,
                FAIL,
                f"unexpected error in this check: {type(exc).__name__}: {exc}",
                "this is a kubeuser bug: please report it with the output of `kubeuser doctor -o json`",
            )
