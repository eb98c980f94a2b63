# GENERATED FILE, do not edit. Source: the kubeuser CLI itself (typer's rendering of the root help).
# Regenerate with: python tools/gen_cli_reference.py
"""``kubeuser --help``, pre-rendered so that it prints without importing typer (issue 8: start time).

Used by :func:`kubeuser.cli.root_help` when the help width is :data:`WIDTH`; tests/unit/test_cli_table.py
checks it equals what typer prints.
"""

PROG = "kubeuser"
WIDTH = 78
TEXT = """\
Usage: kubeuser [OPTIONS] COMMAND [ARGS]...

  Onboard Kubernetes users with X.509 client certificates: key, CSR, approval,
  kubeconfig, RBAC and proof, in one command.

Options:
  --version             Print the version and exit.
  --install-completion  Install completion for the current shell.
  --show-completion     Show completion for the current shell, to copy it or
                        customize the installation.
  -h, --help            Show this message and exit.

Commands:
  create     Create a user: key, certificate, kubeconfig context, RBAC.
  request    Make a key here and a certificate request for your admin.
  import     Add the certificate your admin sent to your kubeconfig.
  list       List the users kubeuser manages, with expiry and groups.
  show       Show a user's record, bindings and effective access.
  renew      Issue a new certificate for a user; update the kubeconfig.
  grant      Grant a user more access; the certificate is kept.
  ungrant    Take access away from a user; the certificate is kept.
  approve    Approve CSRs others submitted, if they pass kubeuser's policy.
  token      Print a new token for a token user (Dashboard sign-in, CI).
  revoke     Remove a user's access and report what access remains.
  run        Run a command as a short-lived user, then remove the user.
  apply      Make the cluster's users match a users file.
  doctor     Check a kubeconfig identity step by step: why access fails.
  preflight  Check this admin may onboard users and the signer issues.
  cleanup    Find (and delete) objects that interrupted runs left.
"""
