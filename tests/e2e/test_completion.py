"""Issue 14 on the real cluster: ``kubeuser show <TAB>`` offers the registry's users and ``-n <TAB>`` the
namespaces, through the admin kubeconfig's TLS and client certificate, as bash asks (``_KUBEUSER_COMPLETE``)."""

from __future__ import annotations

from typing import Any

from kubeuser_runner import kubeuser, ok, uname


def tab(*words: str) -> list[str]:
    """What ``kubeuser WORDS<TAB>`` offers (the last word is the one being completed)."""
    line = ["kubeuser", *words]
    proc = ok(
        kubeuser(
            env={"_KUBEUSER_COMPLETE": "complete_bash", "COMP_WORDS": " ".join(line), "COMP_CWORD": str(len(words))}
        )
    )
    assert proc.stderr == ""
    return proc.stdout.split()


def test_tab_completes_registry_users_and_namespaces(control_plane: Any, namespace: str, registry_ns: str) -> None:
    user = uname("tab")
    other = uname("tab")
    for name in (user, other):
        ok(kubeuser("create", name, "-n", namespace, "--rule", "get:pods"))
    assert sorted(tab("show", "tab-")) == sorted([user, other])  # registry_ns holds exactly these two
    assert tab("revoke", user[:-2]) == [user]
    assert tab("grant", user, "-n", namespace[:-3]) == [namespace]
    assert {"default", "kube-system", namespace, registry_ns} <= set(tab("show", user, "-n", ""))
    assert tab("list", "--registry-namespace", registry_ns) == [registry_ns]
