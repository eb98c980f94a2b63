"""``kubeuser approve`` over the fake gateway: list with verdicts, approve what passes, leave or deny what fails.

Requests are submitted to the fake cluster as a person or tool would (a CertificateSigningRequest with
``spec.username``/``spec.groups`` as the API server fills them). The fake accepts an ``O=system:masters``
request, which a real API server (1.19+, CertificateSubjectRestriction admission) refuses to create for this
signer: that rule can only be exercised here.
"""

from __future__ import annotations

import base64
import json
import re
import warnings
from collections.abc import Sequence
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from fake_gateway import FakeGateway

from kubeuser.errors import ExitCode
from kubeuser.gateway import SIGNER, ServerVersion
from kubeuser.workflows.issue import APPROVAL_REASON

EC_USAGES = ("client auth", "digital signature")
HEADER = ["NAME", "CN", "O", "KEY", "USAGES", "LIFETIME", "REQUESTOR", "VERDICT"]
_KEY = ec.generate_private_key(ec.SECP256R1())


def request_pem(cn: str | None, orgs: Sequence[str] = (), key: Any = None) -> bytes:
    with warnings.catch_warnings():  # cryptography warns about a CN over 64 characters: some tests want one
        warnings.simplefilter("ignore")
        names = [x509.NameAttribute(NameOID.COMMON_NAME, cn, _validate=False)] if cn is not None else []
    names += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs]
    csr = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(key or _KEY, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def submit(
    gw: FakeGateway,
    name: str,
    cn: str | None = "alice",
    orgs: Sequence[str] = ("dev",),
    *,
    usages: Sequence[str] = EC_USAGES,
    expiration: int | None = 3600,
    signer: str = SIGNER,
    labels: dict[str, str] | None = None,
    key: Any = None,
    request: bytes | None = None,
    username: str = "bob",
) -> None:
    spec: dict[str, Any] = {
        "request": base64.b64encode(request if request is not None else request_pem(cn, orgs, key)).decode(),
        "signerName": signer,
        "usages": list(usages),
        "username": username,  # the API server sets who submitted it
        "groups": ["devs", "system:authenticated"],
    }
    if expiration is not None:
        spec["expirationSeconds"] = expiration
    gw.create_csr(
        {
            "apiVersion": "certificates.k8s.io/v1",
            "kind": "CertificateSigningRequest",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": spec,
        }
    )


def conditions(gw: FakeGateway, name: str) -> list[dict[str, Any]]:
    return list(gw.csrs[name]["status"].get("conditions") or [])


def row(out: str, name: str) -> list[str]:
    """The table row of *name*, split on the column gaps (two or more spaces)."""
    line = next(ln for ln in out.splitlines() if ln.startswith(name + " "))
    return re.split(r"\s{2,}", line.strip())


def untouched(gw: FakeGateway) -> bool:
    return gw.calls["approve_csr"] == 0 and gw.calls["deny_csr"] == 0


@pytest.fixture
def gw(env: dict[str, Any]) -> FakeGateway:
    g: FakeGateway = env["gw"]
    return g


@pytest.fixture
def three(gw: FakeGateway) -> FakeGateway:
    """The e2e trio: a good request, a node identity, a wrong usage."""
    submit(gw, "csr-good", "alice", ["dev"])
    submit(gw, "csr-node", "system:node:worker-1", ["system:nodes"])
    submit(gw, "csr-serve", "web", ["dev"], usages=["server auth", "digital signature"])
    return gw


# --- listing ----------------------------------------------------------------------------------------------


def test_listing_shows_what_each_request_asks_for_and_the_verdict_and_changes_nothing(
    cli: Any, three: FakeGateway
) -> None:
    code, out, err = cli("approve")
    assert code == ExitCode.CHECK_FAILED
    lines = out.splitlines()
    assert lines[0].split() == HEADER
    assert row(out, "csr-good") == [
        "csr-good", "alice", "dev", "ecdsa 256", "client auth, digital signature", "1h",
        "bob [devs, system:authenticated]", "pass",
    ]  # fmt: skip
    assert row(out, "csr-node")[1:3] == ["system:node:worker-1", "system:nodes"]
    assert row(out, "csr-node")[-1] == "fail (O, CN)"
    assert row(out, "csr-serve")[-1] == "fail (usages)"
    assert "csr-node fails kubeuser's policy (not approved):" in lines
    assert any(ln.startswith("  CN: 'system:node:worker-1' is a reserved system: name") for ln in lines)
    assert any(ln.startswith("  usages: spec.usages must be client auth, digital signature") for ln in lines)
    assert "3 pending request(s): 1 pass, 2 fail the policy" in lines
    assert untouched(three) and all(conditions(three, n) == [] for n in three.csrs)
    assert err.splitlines()[0] == "error: 2 request(s) fail kubeuser's policy: csr-node (O, CN), csr-serve (usages)"
    assert err.splitlines()[1].startswith("hint: `kubeuser approve NAME` approves a request that passes")


def test_listing_exits_0_when_every_pending_request_passes(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-a", "alice")
    submit(gw, "csr-b", "bob", [], key=rsa.generate_private_key(65537, 2048),
           usages=["client auth", "digital signature", "key encipherment"])  # fmt: skip
    code, out, err = cli("approve")
    assert (code, err) == (0, "")
    assert row(out, "csr-b")[3:5] == ["rsa 2048", "client auth, digital signature, key encipherment"]
    assert "2 pending request(s): 2 pass, 0 fail the policy" in out
    assert untouched(gw)


def test_listing_nothing_pending(cli: Any, gw: FakeGateway) -> None:
    code, out, _ = cli("approve")
    assert code == 0 and out == f"no pending requests for {SIGNER}\n"


def test_listing_leaves_out_other_signers_and_decided_requests_and_notes_kubeusers_own(
    cli: Any, gw: FakeGateway
) -> None:
    submit(gw, "csr-kubelet", "system:node:w", ["system:nodes"], signer="kubernetes.io/kube-apiserver-client-kubelet")
    submit(gw, "csr-done", "carol")
    gw.approve_csr("csr-done", reason="Manual", message="by hand")
    submit(gw, "kubeuser-dave-1", "dave", labels={"app.kubernetes.io/managed-by": "kubeuser"})
    code, out, _ = cli("approve")
    assert code == 0
    assert "csr-kubelet" not in out and "csr-done" not in out
    assert row(out, "kubeuser-dave-1")[-1] == "pass, kubeuser's own"
    assert "kubeuser-dave-1: kubeuser's own request (`kubeuser create` approves it itself): left alone" in out
    assert gw.calls["approve_csr"] == 1  # only the one this test made


def test_listing_as_json_has_camel_case_keys_and_every_violation(cli: Any, three: FakeGateway) -> None:
    code, out, _ = cli("approve", "-o", "json")
    assert code == ExitCode.CHECK_FAILED
    doc = json.loads(out)  # stdout is exactly one document
    assert doc["mode"] == "list" and doc["dryRun"] is False and doc["failedPolicy"] == ["csr-node", "csr-serve"]
    good, node, serve = doc["csrs"]
    assert good == {
        "name": "csr-good", "signerName": SIGNER, "state": "pending", "managedByKubeuser": False,
        "commonName": "alice", "organizations": ["dev"], "keyType": "ecdsa", "keySize": 256,
        "usages": list(EC_USAGES), "requestedSeconds": 3600,
        "requestor": {"username": "bob", "groups": ["devs", "system:authenticated"]},
        "verdict": "pass", "violations": [], "action": "none", "detail": None,
    }  # fmt: skip
    assert [v["field"] for v in node["violations"]] == ["O", "CN"]
    assert serve["violations"] == [
        {
            "field": "usages",
            "message": "spec.usages must be client auth, digital signature (not allowed: server auth; "
            "missing: client auth)",
        }
    ]
    assert untouched(three)


def test_listing_as_yaml(cli: Any, three: FakeGateway) -> None:
    code, out, _ = cli("approve", "-o", "yaml")
    doc = yaml.safe_load(out)
    assert code == ExitCode.CHECK_FAILED
    assert [(c["name"], c["verdict"]) for c in doc["csrs"]] == [
        ("csr-good", "pass"), ("csr-node", "fail"), ("csr-serve", "fail")
    ]  # fmt: skip


# --- approving ----------------------------------------------------------------------------------------------


def test_a_passing_request_is_approved_with_kubeusers_reason_and_issued(cli: Any, three: FakeGateway) -> None:
    code, out, err = cli("approve", "csr-good")
    assert code == 0, err
    (cond,) = conditions(three, "csr-good")
    assert cond["type"] == "Approved" and cond["reason"] == APPROVAL_REASON == "KubeuserApprove"
    assert cond["message"] == "approved by kubeuser approve: CN=alice, O=dev, passed policy"
    assert three.csrs["csr-good"]["status"]["certificate"]  # the fake signer issued it
    assert row(out, "csr-good")[-1] == "approved"
    assert out.splitlines()[-1] == "approved 1"
    assert "[ok] Approve csr-good" in err
    assert all(conditions(three, n) == [] for n in ("csr-node", "csr-serve"))


def test_failing_requests_are_reported_with_every_violation_and_left_pending(cli: Any, three: FakeGateway) -> None:
    code, out, err = cli("approve", "csr-good", "csr-node", "csr-serve")
    assert code == ExitCode.CHECK_FAILED
    assert conditions(three, "csr-good")[0]["type"] == "Approved"
    assert conditions(three, "csr-node") == [] and conditions(three, "csr-serve") == []
    assert three.calls["deny_csr"] == 0
    assert row(out, "csr-node")[-1] == "fail (O, CN), left pending"
    assert "csr-node fails kubeuser's policy (left pending):" in out
    assert "  O: 'system:nodes' is a reserved system: group (--allow-system-names to allow)" in out
    assert "csr-serve fails kubeuser's policy (left pending):" in out
    assert out.splitlines()[-1] == "approved 1, left pending (failed policy) 2"
    assert "hint: they were left pending; --deny-failing denies them" in err


def test_deny_failing_denies_with_kubeusers_policy_reason_and_the_violations(cli: Any, three: FakeGateway) -> None:
    code, out, err = cli("approve", "csr-good", "csr-node", "csr-serve", "--deny-failing")
    assert code == ExitCode.CHECK_FAILED
    (node,) = conditions(three, "csr-node")
    assert node["type"] == "Denied" and node["reason"] == "KubeuserPolicy"
    assert node["message"].startswith("denied by kubeuser approve: fails policy: O: 'system:nodes' is a reserved")
    assert "CN: 'system:node:worker-1'" in node["message"]
    (serve,) = conditions(three, "csr-serve")
    assert serve["type"] == "Denied" and "usages: spec.usages must be" in serve["message"]
    assert "certificate" not in three.csrs["csr-serve"]["status"]
    assert conditions(three, "csr-good")[0]["type"] == "Approved"
    assert row(out, "csr-serve")[-1] == "denied (usages)"
    assert out.splitlines()[-1] == "approved 1, denied 2"
    assert "hint: they were denied (reason KubeuserPolicy)" in err


def test_all_pending_approves_every_passing_request_but_not_kubeusers_own(cli: Any, three: FakeGateway) -> None:
    submit(three, "csr-good2", "erin", ["qa", "dev"])
    submit(three, "kubeuser-dave-1", "dave", labels={"app.kubernetes.io/managed-by": "kubeuser"})
    submit(three, "csr-kubelet", "system:node:w", ["system:nodes"], signer="kubernetes.io/kubelet-serving")
    code, out, _ = cli("approve", "--all-pending")
    assert code == ExitCode.CHECK_FAILED
    assert conditions(three, "csr-good")[0]["type"] == "Approved"
    assert conditions(three, "csr-good2")[0]["message"] == (
        "approved by kubeuser approve: CN=erin, O=qa,dev, passed policy"
    )
    assert conditions(three, "kubeuser-dave-1") == [] and conditions(three, "csr-kubelet") == []
    assert three.calls["approve_csr"] == 2
    assert "kubeuser-dave-1: kubeuser's own request (`kubeuser create` approves it itself): left alone" in out


def test_dry_run_says_what_it_would_do_and_changes_nothing(cli: Any, three: FakeGateway) -> None:
    code, out, err = cli("approve", "--all-pending", "--deny-failing", "--dry-run")
    assert code == ExitCode.CHECK_FAILED
    assert untouched(three) and all(conditions(three, n) == [] for n in three.csrs)
    assert row(out, "csr-good")[-1] == "would approve"
    assert row(out, "csr-node")[-1] == "would deny (O, CN)"
    assert "csr-node fails kubeuser's policy (would be denied):" in out
    assert out.splitlines()[-1] == "dry run, nothing changed: would approve 1, would deny 2"
    assert "hint: they would be denied" in err
    code, out, _ = cli("approve", "csr-good", "--dry-run", "-o", "json")
    doc = json.loads(out)
    assert code == 0 and doc["dryRun"] is True and doc["csrs"][0]["action"] == "would-approve"
    assert untouched(three)


def test_exit_0_when_everything_named_is_approved(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-a", "alice")
    submit(gw, "csr-b", "bob", ["dev", "ops"])
    code, out, err = cli("approve", "csr-a", "csr-b", "-o", "json")
    assert (code, err) == (0, "")
    assert [c["action"] for c in json.loads(out)["csrs"]] == ["approved", "approved"]


# --- system: names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flags", [(), ("--allow-system-names",), ("--allow-system-names", "--all-pending")])
def test_system_masters_is_never_approved(cli: Any, gw: FakeGateway, flags: tuple[str, ...]) -> None:
    submit(gw, "csr-root", "mallory", ["system:masters"])
    submit(gw, "csr-root2", "system:node:x", ["system:nodes", "system:masters"])
    names = () if "--all-pending" in flags else ("csr-root", "csr-root2")
    code, out, _ = cli("approve", *names, *flags)
    assert code == ExitCode.CHECK_FAILED
    assert gw.calls["approve_csr"] == 0 and conditions(gw, "csr-root") == [] and conditions(gw, "csr-root2") == []
    assert "  O: system:masters is never allowed: it bypasses RBAC and cannot be revoked" in out


def test_system_masters_is_denied_with_deny_failing(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-root", "mallory", ["system:masters"])
    code, _, _ = cli("approve", "csr-root", "--allow-system-names", "--deny-failing")
    assert code == ExitCode.CHECK_FAILED
    assert [c["type"] for c in conditions(gw, "csr-root")] == ["Denied"]
    assert "system:masters is never allowed" in conditions(gw, "csr-root")[0]["message"]


def test_a_node_identity_is_approved_only_with_allow_system_names(cli: Any, three: FakeGateway) -> None:
    code, _, _ = cli("approve", "csr-node")
    assert code == ExitCode.CHECK_FAILED and conditions(three, "csr-node") == []
    code, out, _ = cli("approve", "csr-node", "--allow-system-names")
    assert code == 0 and row(out, "csr-node")[-1] == "approved"
    assert conditions(three, "csr-node")[0]["type"] == "Approved"
    assert "CN=system:node:worker-1, O=system:nodes" in conditions(three, "csr-node")[0]["message"]


# --- lifetime ---------------------------------------------------------------------------------------------------


def test_max_ttl_refuses_longer_requests_and_approves_shorter_ones(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-long", "alice", expiration=2 * 86400)
    submit(gw, "csr-short", "bob", expiration=1800)
    code, out, _ = cli("approve", "csr-long", "csr-short", "--max-ttl", "1d")
    assert code == ExitCode.CHECK_FAILED
    assert row(out, "csr-long")[5] == "2d" and row(out, "csr-short")[5] == "30m"
    assert "  lifetime: asks for 2d, more than --max-ttl 1d" in out
    assert conditions(gw, "csr-long") == [] and conditions(gw, "csr-short")[0]["type"] == "Approved"


def test_no_expiration_seconds_is_the_signer_default_and_fails_a_max_ttl(cli: Any, gw: FakeGateway) -> None:
    gw.ver = ServerVersion("v1.20.2", 1, 20)  # a server that drops expirationSeconds, as the e2e cluster
    submit(gw, "csr-old", "alice", expiration=3600)
    assert "expirationSeconds" not in gw.csrs["csr-old"]["spec"]
    code, out, _ = cli("approve")
    assert code == 0 and row(out, "csr-old")[5] == "signer default"
    assert "note: this cluster (v1.20.2) drops spec.expirationSeconds (Kubernetes ≥ 1.22 keeps it)" in out
    code, out, _ = cli("approve", "csr-old", "--max-ttl", "30d", "-o", "json")
    (c,) = json.loads(out)["csrs"]
    assert code == ExitCode.CHECK_FAILED and c["requestedSeconds"] is None
    assert c["violations"][0]["field"] == "lifetime" and "signer's default" in c["violations"][0]["message"]
    assert conditions(gw, "csr-old") == []


def test_no_note_about_expiration_seconds_on_a_server_that_keeps_it(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-new", "alice", expiration=None)
    code, out, _ = cli("approve")
    assert code == 0 and row(out, "csr-new")[5] == "signer default" and "note:" not in out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("5m", "error: --max-ttl: duration 5m is shorter than the 10-minute minimum Kubernetes accepts"),
        ("soon", "error: --max-ttl: cannot read duration 'soon'"),
    ],
)
def test_a_bad_max_ttl_is_one_error_line_and_a_hint(cli: Any, three: FakeGateway, value: str, message: str) -> None:
    code, out, err = cli("approve", "--all-pending", "--max-ttl", value)
    assert code == ExitCode.USAGE and out == ""
    assert err.splitlines() == [message, "hint: e.g. --max-ttl 24h (at least 10m)"]
    assert three.calls["list_csrs"] == 0 and untouched(three)


# --- requests left alone and bad input -----------------------------------------------------------------------------


def test_a_single_unknown_name_is_exit_10(cli: Any, gw: FakeGateway) -> None:
    code, out, err = cli("approve", "csr-nope")
    assert code == ExitCode.NOT_FOUND and out == ""
    assert err.splitlines() == [
        "error: CSR csr-nope not found",
        f"hint: `kubeuser approve` lists the pending requests for {SIGNER}",
    ]


def test_several_unknown_names_are_exit_10(cli: Any, gw: FakeGateway) -> None:
    code, _, err = cli("approve", "csr-a", "csr-b")
    assert code == ExitCode.NOT_FOUND
    assert err.splitlines()[0] == "error: none of the CSRs csr-a, csr-b exists"


def test_other_signer_decided_and_unknown_among_others_are_one_line_each(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-good", "alice")
    submit(gw, "csr-kubelet", "system:node:w", ["system:nodes"], signer="kubernetes.io/kubelet-serving")
    submit(gw, "csr-denied", "carol")
    gw.deny_csr("csr-denied", reason="Manual", message="no")
    submit(gw, "kubeuser-dave-1", "dave", labels={"app.kubernetes.io/managed-by": "kubeuser"})
    code, out, err = cli("approve", "csr-good", "csr-kubelet", "csr-denied", "csr-nope", "kubeuser-dave-1")
    assert code == 0, err
    lines = out.splitlines()
    assert f"csr-kubelet: for signer kubernetes.io/kubelet-serving, not {SIGNER}: left alone" in lines
    assert "csr-denied: already denied: left alone" in lines
    assert "csr-nope: not found" in lines
    assert "kubeuser-dave-1: kubeuser's own request (`kubeuser create` approves it itself): left alone" in lines
    assert gw.calls["approve_csr"] == 1 and conditions(gw, "kubeuser-dave-1") == []
    assert conditions(gw, "csr-kubelet") == [] and [c["type"] for c in conditions(gw, "csr-denied")] == ["Denied"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("csr-a", "--all-pending"), "error: give CSR names or --all-pending, not both"),
        (("--deny-failing",), "error: --deny-failing needs CSR names or --all-pending"),
        (("../x",), "error: '../x' is not a CertificateSigningRequest name"),
        (("a\nb",), "error: 'a\\x0ab' is not a CertificateSigningRequest name"),  # escaped once, one line
        (("csr-a", "-o", "xml"), "error: unknown output format 'xml'"),
    ],
)
def test_bad_input_is_one_error_line_and_a_hint(cli: Any, gw: FakeGateway, args: tuple[str, ...], message: str) -> None:
    submit(gw, "csr-a", "alice")
    code, out, err = cli("approve", *args)
    assert code == ExitCode.USAGE and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0] == message and lines[1].startswith("hint: ")
    assert untouched(gw)


def test_an_unreadable_request_fails_the_policy_and_is_never_approved(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-junk", request=b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n")
    code, out, _ = cli("approve", "csr-junk")
    assert code == ExitCode.CHECK_FAILED and conditions(gw, "csr-junk") == []
    assert row(out, "csr-junk")[1:4] == ["-", "-", "?"]
    assert "  request: spec.request is not a readable certificate request (" in out
    code, _, _ = cli("approve", "csr-junk", "--deny-failing")
    assert code == ExitCode.CHECK_FAILED and conditions(gw, "csr-junk")[0]["type"] == "Denied"


def test_approving_without_permission_is_exit_6(cli: Any, three: FakeGateway) -> None:
    three.deny = {"update certificatesigningrequests/approval"}
    code, _, err = cli("approve", "csr-good")
    assert code == ExitCode.FORBIDDEN and "certificatesigningrequests/approval" in err
    assert conditions(three, "csr-good") == []


# --- rendering ------------------------------------------------------------------------------------------------------


def test_whole_values_when_stdout_is_not_a_terminal(cli: Any, gw: FakeGateway) -> None:
    long_name = "csr-" + "n" * 150
    submit(gw, long_name, "a" * 64, ["g" * 60, "h" * 60], username="system:serviceaccount:" + "ci-" * 30 + "bot")
    code, out, _ = cli("approve")
    assert code == 0
    cells = row(out, long_name)
    assert cells[:3] == [long_name, "a" * 64, "g" * 60 + "," + "h" * 60]
    assert cells[6].startswith("system:serviceaccount:" + "ci-" * 30 + "bot [")
    assert "…" not in out


def test_a_hostile_subject_stays_on_one_line_and_is_whole_in_json(cli: Any, gw: FakeGateway) -> None:
    submit(gw, "csr-evil", "x" * 1000 + "\nO=system:masters")
    code, out, _ = cli("approve")
    assert code == ExitCode.CHECK_FAILED
    assert "\nO=system:masters" not in out  # the CN's line break never reaches the output
    assert "x" * 127 + "…" in row(out, "csr-evil")[1]
    code, out, _ = cli("approve", "-o", "json")
    assert json.loads(out)["csrs"][0]["commonName"] == "x" * 1000 + "\nO=system:masters"


def test_masters_is_refused_even_if_the_policy_check_said_nothing(
    cli: Any, gw: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kubeuser import csrpolicy

    monkeypatch.setattr(csrpolicy, "check", lambda *a, **k: [])  # a policy bug must not open this door
    submit(gw, "csr-root", "mallory", ["dev", "system:masters"])
    submit(gw, "csr-ok", "alice")
    code, out, _ = cli("approve", "--all-pending", "--allow-system-names")
    assert code == ExitCode.CHECK_FAILED
    assert conditions(gw, "csr-root") == [] and conditions(gw, "csr-ok")[0]["type"] == "Approved"
    assert "  O: system:masters is never allowed" in out


def test_on_a_narrow_terminal_long_values_fold_instead_of_being_cut(
    cli: Any, gw: FakeGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rich.console import Console

    from kubeuser import render

    def terminal(*, stderr: bool = False, soft_wrap: bool = True) -> Console:
        return Console(force_terminal=True, width=80, color_system=None, highlight=False, emoji=False, stderr=stderr)

    monkeypatch.setattr(render, "console", terminal)
    submit(gw, "csr-long", "z" * 60, ["dev"])
    code, out, _ = cli("approve")
    assert code == 0
    assert max(len(ln) for ln in out.splitlines()) <= 80  # it fits the terminal …
    assert out.count("z") == 60 and "…" not in out  # … and nothing was cut
    assert out.splitlines()[0].split() == HEADER  # headers whole, on one line
