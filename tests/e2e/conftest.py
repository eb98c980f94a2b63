"""Fixtures for end-to-end tests against a real Kubernetes control plane.

By default a local control plane (etcd + kube-apiserver + kube-controller-manager, v1.20.2, built from
Debian's source package) is started once per session with ``hack/local-cluster.sh``. With
``KUBEUSER_E2E_KUBECONFIG`` set, an existing cluster is used instead (kind on GitHub Actions);
``KUBEUSER_E2E_CA_KEY`` may then point at that cluster's CA key.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
E2E_DIR = Path(__file__).resolve().parent
SCRIPT = REPO / "hack" / "local-cluster.sh"
KUBECTL = "/usr/bin/kubectl" if Path("/usr/bin/kubectl").exists() else (shutil.which("kubectl") or "kubectl")
LOCAL_ONLY_REASON = "needs the local control plane"

BUILD_TIMEOUT = 3600
UP_TIMEOUT = 300


@dataclass
class ControlPlane:
    dir: Path
    kubeconfig: Path
    server: str
    ca_cert: Path
    ca_key: Path
    local: bool
    script_env: dict[str, str] = field(default_factory=dict, repr=False)

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | str | None = None,
        check: bool = True,
        input: str | None = None,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        cmd = [KUBECTL, "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc

    def _script(self, verb: str, timeout: float = UP_TIMEOUT) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, **self.script_env}
        proc = subprocess.run(
            ["bash", str(SCRIPT), verb, str(self.dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
        if proc.returncode != 0:
            raise AssertionError(f"local-cluster.sh {verb} failed:\n{proc.stderr}")
        return proc

    def record_configmaps(self, registry: str, user: str) -> list[dict[str, Any]]:
        """The registry ConfigMaps labelled for *user*, as kubectl reads them (an independent witness)."""
        proc = self.kubectl("get", "configmap", "-n", registry, "-l", f"kubeuser.io/user={user}", "-o", "json")
        return list(json.loads(proc.stdout)["items"])

    def record(self, registry: str, user: str) -> dict[str, Any]:
        """The one registry record of *user* (``record.json``), read with kubectl."""
        cms = self.record_configmaps(registry, user)
        assert len(cms) == 1, cms
        rec = json.loads(cms[0]["data"]["record.json"])
        assert isinstance(rec, dict)
        return rec

    def stop_controller_manager(self) -> None:
        if not self.local:
            pytest.skip(LOCAL_ONLY_REASON)
        self._script("cm-stop")

    def start_controller_manager(self) -> None:
        if not self.local:
            pytest.skip(LOCAL_ONLY_REASON)
        self._script("cm-start")

    def require_ca_key(self) -> Path:
        """The cluster CA key, for tests that mint certificates themselves."""
        if not self.ca_key.is_file():
            pytest.skip(f"cluster CA key not available ({self.ca_key}); set KUBEUSER_E2E_CA_KEY")
        return self.ca_key


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.resolve().is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


def _short(text: str, lines: int = 10) -> str:
    """The interesting part of the script's stderr: from the first error line on."""
    all_lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    for i, ln in enumerate(all_lines):
        if any(k in ln for k in ("ERROR", "failed", "not healthy", "exited before")):
            return "\n".join(all_lines[i : i + lines])
    return "\n".join(all_lines[-lines:])


def _unavailable(what: str, detail: str) -> NoReturn:
    msg = f"local Kubernetes control plane unavailable ({what}):\n{_short(detail)}"
    if os.environ.get("CI", "").lower() == "true" and not os.environ.get("KUBEUSER_E2E_KUBECONFIG"):
        pytest.fail(f"CI=true requires the e2e suite to run: {msg}", pytrace=False)
    pytest.skip(msg)


def _external(tmp: Path) -> ControlPlane:
    kubeconfig = Path(os.environ["KUBEUSER_E2E_KUBECONFIG"]).expanduser().resolve()
    view = [KUBECTL, "--kubeconfig", str(kubeconfig), "config", "view", "--minify", "--raw", "-o"]
    server = subprocess.run(
        [*view, "jsonpath={.clusters[0].cluster.server}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    ca_cert = Path(os.environ.get("KUBEUSER_E2E_CA_CERT", tmp / "ca.crt"))
    if not ca_cert.is_file():
        ca_data = subprocess.run(
            [*view, "jsonpath={.clusters[0].cluster.certificate-authority-data}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        ca_cert.write_bytes(base64.b64decode(ca_data))
    ca_key = Path(os.environ.get("KUBEUSER_E2E_CA_KEY") or tmp / "ca.key.unavailable")
    return ControlPlane(dir=tmp, kubeconfig=kubeconfig, server=server, ca_cert=ca_cert, ca_key=ca_key, local=False)


def _wait_for_aggregated_roles(cp: ControlPlane, timeout: float = 60) -> None:
    """The built-in view/edit/admin ClusterRoles get their rules from the controller-manager's aggregation
    controller shortly after it starts: wait for them, so that the first test binding `view` is not racing it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rules = cp.kubectl("get", "clusterrole", "view", "-o", "jsonpath={.rules}", check=False).stdout.strip()
        if rules not in ("", "[]", "null"):
            return
        time.sleep(0.5)
    _unavailable("up", "the view ClusterRole got no rules from the controller-manager's aggregation controller")


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    if os.environ.get("KUBEUSER_E2E_KUBECONFIG"):
        yield _external(tmp_path_factory.mktemp("external-cluster"))
        return

    # Pin the build cache now: tests later point HOME at a temporary directory.
    cache = os.environ.get("KUBEUSER_CACHE") or str(Path.home() / ".cache" / "kubeuser")
    env = {**os.environ, "KUBEUSER_CACHE": cache}
    try:
        build = subprocess.run(
            ["bash", str(SCRIPT), "build"], capture_output=True, text=True, timeout=BUILD_TIMEOUT, env=env
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        _unavailable("build", str(exc))
    if build.returncode != 0:
        _unavailable("build", build.stderr or build.stdout)

    cluster_dir = tmp_path_factory.mktemp("kubeuser-cluster")
    cp = ControlPlane(
        dir=cluster_dir,
        kubeconfig=cluster_dir / "admin.kubeconfig",
        server="",
        ca_cert=cluster_dir / "pki" / "ca.crt",
        ca_key=cluster_dir / "pki" / "ca.key",
        local=True,
        script_env={"KUBEUSER_CACHE": cache},
    )

    def down() -> None:
        subprocess.run(["bash", str(SCRIPT), "down", str(cluster_dir)], capture_output=True, timeout=120, env=env)

    try:
        up = subprocess.run(
            ["bash", str(SCRIPT), "up", str(cluster_dir)],
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT,
            env=env,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        down()
        _unavailable("up", str(exc))
    if up.returncode != 0:
        down()
        _unavailable("up", up.stderr or up.stdout)

    for line in up.stdout.splitlines():
        if line.startswith("export KUBEUSER_SERVER="):
            cp.server = line.split("=", 1)[1].strip("'\"")
    _wait_for_aggregated_roles(cp)
    try:
        yield cp
    finally:
        down()


@pytest.fixture(autouse=True)
def isolated_home(control_plane: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME is a fresh directory with the admin kubeconfig as ~/.kube/config (0600, dir 0700)."""
    home = tmp_path / "home"
    kube = home / ".kube"
    kube.mkdir(parents=True)
    kube.chmod(0o700)
    config = kube / "config"
    shutil.copyfile(control_plane.kubeconfig, config)
    config.chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KUBECONFIG", str(config))
    for var in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh, uniquely named namespace, deleted (without waiting) afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:10]}"
    control_plane.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)


@pytest.fixture
def registry_ns(control_plane: ControlPlane, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """This test's own registry namespace (kubeuser creates it), for every kubeuser command of the test."""
    name = f"reg-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("KUBEUSER_REGISTRY_NAMESPACE", name)
    try:
        yield name
    finally:
        control_plane.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
