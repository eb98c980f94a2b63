"""Console-script entry point (``kubeuser``, ``kubectl-user``): as light as possible.

``--version`` is answered without importing typer; everything else goes to :func:`kubeuser.cli.main`.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with the stream closed (`kubeuser … >&-`): discard, don't crash
            setattr(sys, name, open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the process)
    if sys.argv[1:] == ["--version"]:
        from kubeuser import __version__

        try:
            sys.stdout.write(f"kubeuser {__version__}\n")
            sys.stdout.flush()
        except BrokenPipeError:
            from kubeuser.cli import stdout_gone

            stdout_gone()
        sys.exit(0)
    from kubeuser.cli import main as cli_main

    cli_main()
