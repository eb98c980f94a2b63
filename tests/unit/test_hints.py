"""Hints and "try it" lines run as printed: quoted names, this run's --kubeconfig/--context, `--` before a
name that starts with `-`, and `kubectl user` under the kubectl plugin."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

import pytest

from kubeuser import hints, naming
from kubeuser.errors import UsageError


@pytest.fixture(autouse=True)
def defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hints, "_current", hints.Connection())
    monkeypatch.setattr(sys, "argv", ["kubeuser"])


def test_a_plain_command() -> None:
    assert hints.kubeuser("revoke", "alice") == "kubeuser revoke alice"
    assert hints.kubeuser("list") == "kubeuser list"


def test_names_are_quoted_and_split_back_whole() -> None:
    line = hints.kubeuser("create", "john smith", options=("--force",))
    assert line == "kubeuser create 'john smith' --force"
    assert shlex.split(line) == ["kubeuser", "create", "john smith", "--force"]
    assert shlex.split(hints.kubeuser("show", "o'brien$x")) == ["kubeuser", "show", "o'brien$x"]


def test_a_name_starting_with_a_dash_goes_after_double_dash() -> None:
    line = hints.kubeuser("create", "-x", options=("--force",))
    assert line == "kubeuser create --force -- -x"


def test_non_default_kubeconfig_and_context_are_named(tmp_path: Path) -> None:
    hints.use(str(tmp_path / "my admin.kubeconfig"), "prod admin")
    line = hints.kubeuser("revoke", "bob")
    assert shlex.split(line) == ["kubeuser", "revoke", "bob", "--kubeconfig", str(tmp_path / "my admin.kubeconfig"),
                                 "--context", "prod admin"]  # fmt: skip
    assert hints.kubeuser("request", "bob", connection=hints.Connection()) == "kubeuser request bob"


def test_the_kubectl_plugin_says_kubectl_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "argv", ["/usr/local/bin/kubectl-user"])
    assert hints.kubeuser("renew", "bob", options=("--out", "bob.kubeconfig")) == (
        "kubectl user renew bob --out bob.kubeconfig"
    )


def test_kubectl_lines() -> None:
    line = hints.kubectl("--context", "a b@c", "auth", "can-i", "--list")
    assert line == "kubectl --context 'a b@c' auth can-i --list"
    assert hints.kubectl("get", "pods", kubeconfig="/x y/k") == "kubectl --kubeconfig '/x y/k' get pods"


def test_user_names_starting_with_a_dash_are_refused() -> None:
    with pytest.raises(UsageError) as info:
        naming.validate_identity("-x", [])
    assert "starts with '-'" in info.value.message and info.value.hint


# real hints, through the CLI over the fake gateway ----------------------------------------------


def test_create_try_it_quotes_and_names_the_kubeconfig(cli: Any, env: dict[str, Any]) -> None:
    code, out, err = cli("create", "john smith", "--kubeconfig", str(env["kc"]), "-n", "dev")
    assert code == 0, err
    try_it = next(ln for ln in out.splitlines() if ln.startswith("try it:"))
    assert shlex.split(try_it.removeprefix("try it:")) == [
        "kubectl", "--kubeconfig", str(env["kc"]), "--context", "john smith@prod",
        "auth", "can-i", "--list", "-n", "dev",
    ]  # fmt: skip
    code, _out, err = cli("create", "john smith", "--kubeconfig", str(env["kc"]))
    assert code == 7
    hint = next(ln for ln in err.splitlines() if ln.startswith("hint:"))
    assert f"`kubeuser create 'john smith' --force --kubeconfig {env['kc']}` to reissue" in hint
    assert f"`kubeuser revoke 'john smith' --kubeconfig {env['kc']}` to remove" in hint


def test_create_try_it_without_flags_is_plain(cli: Any) -> None:
    code, out, err = cli("create", "plain")
    assert code == 0, err
    assert "try it:     kubectl --context plain@prod auth can-i --list -n dev" in out


def test_run_never_suggests_a_flag_it_does_not_have(cli: Any, env: dict[str, Any]) -> None:
    code, _out, err = cli("create", "busy")
    assert code == 0, err
    code, _out, err = cli("run", "busy", "--", sys.executable, "-c", "pass")
    assert code == 7, err
    hint = next(ln for ln in err.splitlines() if ln.startswith("hint:"))
    assert "kubeuser create busy --force" in hint and "`--force`" not in hint


def test_a_dash_name_is_refused_by_create(cli: Any) -> None:
    code, _out, err = cli("create", "--", "-x")
    assert code == 2 and err.startswith("error: user name '-x' starts with '-'")
