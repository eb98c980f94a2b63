"""Text of the user's side of bring-your-own-key: ``kubeuser request`` and ``kubeuser import``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kubeuser import render

if TYPE_CHECKING:
    from kubeuser.workflows.byok import ImportResult, RequestResult


def request(res: RequestResult, *, wide: bool = False) -> None:
    """The request (PEM) on stdout, unless ``--out FILE`` wrote it to a file."""
    if res.out in (None, "-"):
        render.out(res.csr_pem.decode("ascii"))


def next_steps(res: RequestResult) -> None:
    """What to do with the request (stderr, whatever the output format)."""
    from kubeuser import hints

    where = f"{res.out}" if res.out not in (None, "-") else "the request above"
    handout = f"{res.user}.kubeconfig"
    render.stderr_console().print(
        f"send {where} to your admin (it holds no secret); they run "
        f"`{hints.kubeuser('create', res.user, options=('--csr', 'FILE', '--out', handout))}`, then you run "
        f"`{hints.kubeuser('import', handout)}`"
        + (f" ({res.others_pending} earlier request(s) of {res.user} are still pending)" if res.others_pending else ""),
        markup=False,
        highlight=False,
    )


def import_(res: ImportResult, *, wide: bool = False) -> None:
    from kubeuser import hints

    try_it = hints.kubectl(
        "--context", res.context, "auth", "can-i", "--list",
        kubeconfig=res.kubeconfig if hints.current().kubeconfig else None,
    )  # fmt: skip
    render.out(
        f"imported {res.user}: certificate {res.serial}, valid until {res.not_after}\n"
        f"context     {res.context}  in {res.kubeconfig}\n"
        f"try it:     {try_it}\n"
    )
