"""Bring your own key, end to end on the real cluster: the private key never leaves the person it identifies.

Two machines are simulated with two HOME directories. The autouse ``isolated_home`` is the admin's
(admin kubeconfig at ~/.kube/config); the user's HOME is a fresh directory with no kubeconfig and no
cluster access until ``kubeuser import``. Requests and handouts travel through a third directory
("the mail"). kubectl and openssl are the independent witnesses; every test has its own user names
(uuid) and its own registry namespace, so the tests pass alone and in any order.
"""

from __future__ import annotations

import base64
import json
import stat
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from kubeuser_runner import kubeuser, ok, serial_of, uname
from kubeuser_runner import openssl_x509 as x509_out

if TYPE_CHECKING:
    from e2e.conftest import ControlPlane as Cluster

PRIVATE = "PRIVATE KEY"

# --------------------------------------------------------------------------- helpers


@pytest.fixture
def mail(tmp_path: Path) -> Path:
    """Where requests and handouts travel between the two machines (neither HOME)."""
    d = tmp_path / "mail"
    d.mkdir()
    return d


@dataclass
class Machine:
    """A machine other than the admin's: its own HOME, no KUBECONFIG (→ ~/.kube/config), no KUBEUSER_HOME."""

    home: Path

    @property
    def env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "KUBECONFIG": "", "KUBEUSER_HOME": ""}

    @property
    def kubeconfig(self) -> Path:
        return self.home / ".kube" / "config"

    @property
    def pending_root(self) -> Path:
        return self.home / ".kube" / "kubeuser" / "pending"

    def pending(self) -> list[Path]:
        """Every pending request directory (one holding a key.pem) on this machine."""
        return sorted(p.parent for p in self.pending_root.glob("*/*/key.pem"))

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return kubeuser(*args, env=self.env)

    def kubectl(self, cp: Cluster, context: str, *args: str) -> subprocess.CompletedProcess[str]:
        return cp.kubectl("--context", context, *args, kubeconfig=self.kubeconfig, check=False)


def machine(tmp_path: Path, name: str) -> Machine:
    home = tmp_path / name
    home.mkdir()
    return Machine(home)


@pytest.fixture
def user(tmp_path: Path) -> Machine:
    return machine(tmp_path, "user-home")


@dataclass
class Admin:
    """The admin's machine (the autouse HOME); keeps every output of its kubeuser commands for the key scan."""

    procs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = kubeuser(*args)
        self.procs.append(proc)
        return proc


@pytest.fixture
def admin() -> Admin:
    return Admin()


def request(user: Machine, name: str, csr: Path, *extra: str) -> Path:
    """``kubeuser request`` on the user's machine; returns the new pending directory."""
    before = set(user.pending())
    ok(user.run("request", name, *extra, "--out", str(csr)))
    new = sorted(set(user.pending()) - before)
    assert len(new) == 1, (before, user.pending())
    assert b"BEGIN CERTIFICATE REQUEST" in csr.read_bytes() and PRIVATE.encode() not in csr.read_bytes()
    return new[0]


def kc_doc(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text())
    assert isinstance(doc, dict)
    return doc


def only(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    items = doc.get(kind) or []
    assert len(items) == 1, items
    item = items[0]
    assert isinstance(item, dict)
    return item


def entry(doc: dict[str, Any], kind: str, name: str) -> dict[str, Any] | None:
    inner = {"users": "user", "contexts": "context", "clusters": "cluster"}[kind]
    for e in doc.get(kind) or []:
        if e.get("name") == name:
            body = e.get(inner)
            return body if isinstance(body, dict) else {}
    return None


def handout_context(handout: Path) -> str:
    return str(only(kc_doc(handout), "contexts")["name"])


def cert_in(path: Path, user_entry: str | None = None) -> bytes:
    """The client certificate of *user_entry* (or of the file's only user) as PEM."""
    doc = kc_doc(path)
    body = only(doc, "users")["user"] if user_entry is None else entry(doc, "users", user_entry)
    assert isinstance(body, dict), f"no user entry {user_entry} in {path}"
    return base64.b64decode(body["client-certificate-data"])


def cert_pubkey(pem: bytes) -> str:
    return x509_out(pem, "-pubkey")


def key_pubkey(key_file: Path) -> str:
    proc = subprocess.run(["openssl", "pkey", "-pubout", "-in", str(key_file)], capture_output=True, check=True)
    return proc.stdout.decode()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


def forbidden(proc: subprocess.CompletedProcess[str], name: str) -> bool:
    """Authenticated as *name* (never 401) and refused by RBAC."""
    return proc.returncode != 0 and "forbidden" in proc.stderr.lower() and f'User "{name}"' in proc.stderr


def labelled(cp: Cluster, kinds: str, name: str) -> list[dict[str, Any]]:
    proc = cp.kubectl("get", kinds, "-A", "-l", f"kubeuser.io/user={name}", "-o", "json")
    return list(json.loads(proc.stdout)["items"])


def nothing_created(cp: Cluster, registry: str, name: str) -> None:
    assert labelled(cp, "csr", name) == [], f"a CSR of {name} was left"
    assert labelled(cp, "roles,rolebindings,clusterrolebindings", name) == [], f"RBAC of {name} was made"
    assert cp.record_configmaps(registry, name) == [], f"a registry record of {name} was made"


def foreign_certificate(csr_pem: bytes, cluster_ca: Path) -> bytes:
    """A client certificate for the request's subject and public key, signed by a throwaway CA that
    carries the cluster CA's name (the issuer name matches; only the signature gives it away)."""
    csr = x509.load_pem_x509_csr(csr_pem)
    real_ca = x509.load_pem_x509_certificate(cluster_ca.read_bytes())
    fake_ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(real_ca.subject)
        .public_key(csr.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(fake_ca_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def with_broken_signature(csr_pem: bytes) -> bytes:
    """The same request (subject, key) with the last byte of its signature changed."""
    der = bytearray(x509.load_pem_x509_csr(csr_pem).public_bytes(serialization.Encoding.DER))
    der[-1] ^= 0x01
    csr = x509.load_der_x509_csr(bytes(der))
    assert not csr.is_signature_valid
    return csr.public_bytes(serialization.Encoding.PEM)


def with_certificate(handout: Path, cert_pem: bytes, dest: Path) -> Path:
    doc = kc_doc(handout)
    only(doc, "users")["user"]["client-certificate-data"] = base64.b64encode(cert_pem).decode()
    dest.write_text(yaml.safe_dump(doc, sort_keys=False))
    return dest


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def assert_no_key_on_the_admin_side(
    cp: Cluster, registry: str, admin_home: Path, admin: Admin, handouts: list[Path], user_key_b64: str
) -> None:
    """No "PRIVATE KEY" (nor the user's key.pem in base64, as client-key-data would hold it) in any file under
    the admin's HOME, the handouts, the registry ConfigMaps or any output of the admin's commands."""
    scanned: dict[str, str] = {}
    for f in files_under(admin_home):
        scanned[str(f)] = f.read_bytes().decode("utf-8", "replace")
    for h in handouts:
        scanned[str(h)] = h.read_text()
    scanned["registry configmaps"] = cp.kubectl("get", "configmap", "-n", registry, "-o", "yaml").stdout
    for i, proc in enumerate(admin.procs):
        scanned[f"admin command {i} stdout"] = proc.stdout
        scanned[f"admin command {i} stderr"] = proc.stderr
    assert len(scanned) > 4, scanned.keys()
    for where, text in scanned.items():
        assert PRIVATE not in text, f"{PRIVATE} in {where}"
        assert user_key_b64 not in text, f"the user's key (base64) in {where}"
    # besides kubectl's caches, the admin's own kubeconfig is the only file there: no key files, no key directory
    rel = [f.relative_to(admin_home) for f in files_under(admin_home)]
    caches = (Path(".kube/cache"), Path(".kube/http-cache"))
    assert [f for f in rel if not any(f.is_relative_to(c) for c in caches)] == [Path(".kube/config")], rel


# --------------------------------------------------------------------------- 1. the full flow


def test_full_flow_key_never_leaves_the_user(
    control_plane: Cluster,
    registry_ns: str,
    namespace: str,
    isolated_home: Path,
    user: Machine,
    admin: Admin,
    mail: Path,
) -> None:
    name = uname("byok")
    admin_kc_before = (isolated_home / ".kube" / "config").read_bytes()

    # user: request (no cluster access, no kubeconfig at all)
    csr = mail / f"{name}.csr"
    pending = request(user, name, csr, "-g", "dev")
    assert pending.parent == user.pending_root / name, pending
    key_file = pending / "key.pem"
    assert mode(key_file) == 0o600, oct(mode(key_file))
    for d in (pending, pending.parent, user.pending_root):
        assert mode(d) == 0o700, (d, oct(mode(d)))
    assert not user.kubeconfig.exists()
    user_pub = key_pubkey(key_file)
    user_key_b64 = base64.b64encode(key_file.read_bytes()).decode()

    # admin: create --csr with exactly get,list on pods in NS
    handout = mail / f"{name}.kubeconfig"
    ok(admin.run("create", name, "--csr", str(csr), "--rule", "get,list:pods", "-n", namespace, "--out", str(handout)))
    h_user = only(kc_doc(handout), "users")["user"]
    assert "client-key-data" not in h_user and "client-key" not in h_user, h_user.keys()
    assert h_user.get("client-certificate-data")
    assert only(kc_doc(handout), "clusters")["cluster"].get("certificate-authority-data")
    assert (isolated_home / ".kube" / "config").read_bytes() == admin_kc_before, "create --csr --out merged"
    ctx = handout_context(handout)

    # user: import
    imported = ok(user.run("import", str(handout)))
    assert user.kubeconfig.is_file(), imported.stdout
    assert mode(user.kubeconfig) == 0o600, oct(mode(user.kubeconfig))
    doc = kc_doc(user.kubeconfig)
    ctx_body = entry(doc, "contexts", ctx)
    assert ctx_body is not None, (ctx, doc.get("contexts"))
    assert ctx_body.get("namespace") == namespace, ctx_body
    cert = cert_in(user.kubeconfig, str(ctx_body["user"]))
    assert cert_pubkey(cert) == user_pub, "the imported certificate is not for the user's own key"
    assert "O=dev" in x509_out(cert, "-subject") and f"CN={name}" in x509_out(cert, "-subject")
    assert user.pending() == [] and not pending.exists(), user.pending()
    assert list(user.pending_root.glob("*/*")) == []

    # kubectl as the user: exactly the granted access
    pods = user.kubectl(control_plane, ctx, "get", "pods", "-n", namespace)
    assert pods.returncode == 0, pods.stderr
    assert forbidden(user.kubectl(control_plane, ctx, "get", "secrets", "-n", namespace), name)
    assert forbidden(user.kubectl(control_plane, ctx, "get", "pods", "-n", "default"), name)

    # nothing on the admin side holds a private key of the user (nor any private key in PEM form)
    rec = control_plane.record(registry_ns, name)
    assert rec.get("key_holder") == "user", rec
    assert_no_key_on_the_admin_side(control_plane, registry_ns, isolated_home, admin, [handout], user_key_b64)


# --------------------------------------------------------------------------- 2. policy refusals


def assert_refused(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr
    errors = error_lines(proc.stderr)
    assert len(errors) == 1, proc.stderr
    for w in words:
        assert w in errors[0], (w, errors[0])
    return errors[0]


def test_create_csr_policy_refusals(
    control_plane: Cluster,
    registry_ns: str,
    namespace: str,
    isolated_home: Path,
    user: Machine,
    admin: Admin,
    mail: Path,
) -> None:
    alice, bob = uname("alice"), uname("bob")
    admin_kc = isolated_home / ".kube" / "config"
    before = admin_kc.read_bytes()

    alice_csr = mail / "alice.csr"
    request(user, alice, alice_csr, "-g", "dev")

    # CN mismatch: alice's request given for bob
    out = mail / "bob.kubeconfig"
    line = assert_refused(admin.run("create", bob, "--csr", str(alice_csr), "--out", str(out)), "CN")
    assert alice in line and bob in line, line
    assert not out.exists()
    nothing_created(control_plane, registry_ns, bob)
    nothing_created(control_plane, registry_ns, alice)

    # -g must match the request's O exactly
    out = mail / "alice.kubeconfig"
    proc = admin.run("create", alice, "--csr", str(alice_csr), "-g", "ops", "-n", namespace, "--out", str(out))
    line = assert_refused(proc, "O")
    assert "ops" in line and "dev" in line, line
    assert not out.exists()
    nothing_created(control_plane, registry_ns, alice)

    # a request made with openssl asking for system:masters: refused by kubeuser's policy
    masters = uname("mallory")
    m_csr = mail / "masters.csr"
    subprocess.run(
        [
            "openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(user.home / "masters.key"), "-subj", f"/CN={masters}/O=system:masters", "-out", str(m_csr),
        ],
        capture_output=True,
        check=True,
    )  # fmt: skip
    out = mail / "masters.kubeconfig"
    line = assert_refused(admin.run("create", masters, "--csr", str(m_csr), "--out", str(out)), "O", "system:masters")
    assert not out.exists()
    nothing_created(control_plane, registry_ns, masters)

    # a request altered after it was signed (its self-signature no longer holds)
    bad_sig = mail / "altered.csr"
    bad_sig.write_bytes(with_broken_signature(alice_csr.read_bytes()))
    out = mail / "altered.kubeconfig"
    assert_refused(admin.run("create", alice, "--csr", str(bad_sig), "--out", str(out)), "signature")
    assert not out.exists()
    nothing_created(control_plane, registry_ns, alice)

    # --csr without --out
    line = assert_refused(admin.run("create", alice, "--csr", str(alice_csr)), "--out")
    nothing_created(control_plane, registry_ns, alice)

    assert admin_kc.read_bytes() == before
    assert len(user.pending()) == 1  # the refusals touched nothing of the user's


# --------------------------------------------------------------------------- 3. import errors


def test_import_without_a_matching_pending_key_is_not_found(
    control_plane: Cluster, registry_ns: str, tmp_path: Path, user: Machine, admin: Admin, mail: Path
) -> None:
    name = uname("nokey")
    csr = mail / "req.csr"
    request(user, name, csr)
    handout = mail / "handout.kubeconfig"
    ok(admin.run("create", name, "--csr", str(csr), "--out", str(handout)))

    third = machine(tmp_path, "third-home")
    proc = third.run("import", str(handout))
    assert proc.returncode == 10, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert len(error_lines(proc.stderr)) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not third.kubeconfig.exists()
    assert files_under(third.home) == []

    # an existing kubeconfig on that machine is left byte for byte
    third.kubeconfig.parent.mkdir(parents=True)
    third.kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n")
    before = third.kubeconfig.read_bytes()
    assert third.run("import", str(handout)).returncode == 10
    assert third.kubeconfig.read_bytes() == before
    assert len(user.pending()) == 1  # the right machine still has its key


def test_import_of_a_certificate_from_another_ca_fails_verification(
    control_plane: Cluster, registry_ns: str, user: Machine, admin: Admin, mail: Path
) -> None:
    name = uname("forged")
    csr = mail / "req.csr"
    pending = request(user, name, csr)
    handout = mail / "handout.kubeconfig"
    ok(admin.run("create", name, "--csr", str(csr), "--out", str(handout)))

    forged = with_certificate(
        handout, foreign_certificate(csr.read_bytes(), control_plane.ca_cert), mail / "forged.kubeconfig"
    )
    assert cert_pubkey(cert_in(forged)) == key_pubkey(pending / "key.pem")  # only the issuer differs
    proc = user.run("import", str(forged))
    assert proc.returncode == 9, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert len(error_lines(proc.stderr)) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not user.kubeconfig.exists()
    assert user.pending() == [pending] and (pending / "key.pem").is_file()

    # the genuine handout still imports: the failed attempt consumed nothing
    ok(user.run("import", str(handout)))
    ctx = handout_context(handout)
    res = user.kubectl(control_plane, ctx, "auth", "can-i", "get", "pods")
    assert res.stdout.strip() in ("yes", "no") and "unauthorized" not in res.stderr.lower(), res.stderr


def test_import_of_a_complete_kubeconfig_is_refused(
    control_plane: Cluster, registry_ns: str, user: Machine, admin: Admin, mail: Path
) -> None:
    name = uname("full")
    complete = mail / "complete.kubeconfig"
    ok(admin.run("create", name, "--out", str(complete)))
    assert only(kc_doc(complete), "users")["user"].get("client-key-data")

    proc = user.run("import", str(complete))
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert len(error_lines(proc.stderr)) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert not user.kubeconfig.exists()
    assert files_under(user.home) == []


# --------------------------------------------------------------------------- 4. two requests


def test_two_requests_import_picks_the_matching_key(
    control_plane: Cluster, registry_ns: str, namespace: str, user: Machine, admin: Admin, mail: Path
) -> None:
    name = uname("twice")
    first = request(user, name, mail / "first.csr")
    # the second request goes to stdout (no --out), as one would pipe it into mail
    proc = ok(user.run("request", name))
    assert proc.stdout.startswith("-----BEGIN CERTIFICATE REQUEST-----"), proc.stdout
    assert PRIVATE not in proc.stdout + proc.stderr
    (mail / "second.csr").write_text(proc.stdout)
    second = next(p for p in user.pending() if p != first)
    assert first != second and first.parent == second.parent
    assert user.pending() == sorted([first, second])
    pub1, pub2 = key_pubkey(first / "key.pem"), key_pubkey(second / "key.pem")
    assert pub1 != pub2

    handout = mail / "handout.kubeconfig"
    ok(admin.run("create", name, "--csr", str(mail / "second.csr"), "--rule", "get:pods", "-n", namespace,
                 "--out", str(handout)))  # fmt: skip
    assert cert_pubkey(cert_in(handout)) == pub2

    ok(user.run("import", str(handout)))
    ctx = handout_context(handout)
    body = entry(kc_doc(user.kubeconfig), "contexts", ctx)
    assert body is not None
    assert cert_pubkey(cert_in(user.kubeconfig, str(body["user"]))) == pub2
    assert user.pending() == [] and not first.exists() and not second.exists()
    got = user.kubectl(control_plane, ctx, "get", "pod", "probe", "-n", namespace)
    assert "NotFound" in got.stderr and "forbidden" not in got.stderr.lower(), got.stderr


# --------------------------------------------------------------------------- 5. renew


def test_renew_needs_a_new_request_and_the_user_imports_it(
    control_plane: Cluster,
    registry_ns: str,
    namespace: str,
    isolated_home: Path,
    user: Machine,
    admin: Admin,
    mail: Path,
) -> None:
    name = uname("renew")
    first_pending = request(user, name, mail / "first.csr", "-g", "dev")
    first_key_b64 = base64.b64encode((first_pending / "key.pem").read_bytes()).decode()
    first_handout = mail / "first.kubeconfig"
    ok(admin.run("create", name, "--csr", str(mail / "first.csr"), "--rule", "get,list:pods", "-n", namespace,
                 "--out", str(first_handout)))  # fmt: skip
    ok(user.run("import", str(first_handout)))
    ctx = handout_context(first_handout)
    user_entry = str((entry(kc_doc(user.kubeconfig), "contexts", ctx) or {})["user"])
    first_serial = serial_of(cert_in(user.kubeconfig, user_entry))
    assert user.kubectl(control_plane, ctx, "get", "pods", "-n", namespace).returncode == 0

    # a plain renew cannot work: the admin does not have the key
    record_before = control_plane.record_configmaps(registry_ns, name)[0]["metadata"]["resourceVersion"]
    plain = admin.run("renew", name)
    assert plain.returncode == 2, f"exit {plain.returncode}\n{plain.stdout}\n{plain.stderr}"
    assert "kubeuser request" in plain.stderr, plain.stderr
    assert len(error_lines(plain.stderr)) == 1, plain.stderr
    assert control_plane.record_configmaps(registry_ns, name)[0]["metadata"]["resourceVersion"] == record_before

    # the user asks again, the admin renews with the request, the user imports
    pending = request(user, name, mail / "new.csr", "-g", "dev")
    new_pub = key_pubkey(pending / "key.pem")
    new_key_b64 = base64.b64encode((pending / "key.pem").read_bytes()).decode()
    new_handout = mail / "new.kubeconfig"
    ok(admin.run("renew", name, "--csr", str(mail / "new.csr"), "--out", str(new_handout)))
    assert "client-key-data" not in only(kc_doc(new_handout), "users")["user"]
    ok(user.run("import", str(new_handout)))

    doc = kc_doc(user.kubeconfig)
    new_ctx = handout_context(new_handout)
    new_entry = str((entry(doc, "contexts", new_ctx) or {})["user"])
    new_cert = cert_in(user.kubeconfig, new_entry)
    new_serial = serial_of(new_cert)
    assert new_serial != first_serial
    assert cert_pubkey(new_cert) == new_pub
    assert user.pending() == []
    assert mode(user.kubeconfig) == 0o600
    pods = user.kubectl(control_plane, new_ctx, "get", "pods", "-n", namespace)
    assert pods.returncode == 0, pods.stderr
    assert forbidden(user.kubectl(control_plane, new_ctx, "get", "secrets", "-n", namespace), name)

    rec = control_plane.record(registry_ns, name)
    assert rec.get("key_holder") == "user", rec
    assert rec["certificate"]["serial"].upper() == new_serial
    assert first_serial in {str(h["serial"]).upper() for h in rec.get("history") or []}, rec.get("history")
    for key_b64 in (first_key_b64, new_key_b64):
        assert_no_key_on_the_admin_side(
            control_plane, registry_ns, isolated_home, admin, [first_handout, new_handout], key_b64
        )


# --------------------------------------------------------------------------- bugs found on the way (fixed)


def test_request_refused_by_an_existing_out_leaves_no_key(user: Machine, mail: Path) -> None:
    name = uname("orphan")
    out = mail / "taken.csr"
    out.write_text("not mine to overwrite\n")
    proc = user.run("request", name, "--out", str(out))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert out.read_text() == "not mine to overwrite\n"
    assert "--force" not in proc.stderr, proc.stderr  # `kubeuser request` has no --force
    assert user.pending() == [], f"orphan pending key(s) left: {user.pending()}"


def test_create_csr_dry_run_shows_the_users_request(
    control_plane: Cluster, registry_ns: str, user: Machine, admin: Admin, mail: Path
) -> None:
    name = uname("dry")
    csr = mail / "req.csr"
    request(user, name, csr)
    out = mail / "dry.kubeconfig"
    proc = ok(admin.run("create", name, "--csr", str(csr), "--out", str(out), "--dry-run", "-o", "json"))
    assert not out.exists()
    nothing_created(control_plane, registry_ns, name)
    items = json.loads(proc.stdout)["items"]
    csr_obj = next(i for i in items if i["kind"] == "CertificateSigningRequest")
    sent = x509.load_pem_x509_csr(base64.b64decode(csr_obj["spec"]["request"]))
    mine = x509.load_pem_x509_csr(csr.read_bytes())
    assert sent.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ) == mine.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
