"""CertificateSigningRequest objects: the manifest kubeuser sends and reading the outcome."""

from __future__ import annotations

import base64
from typing import Any

from kubeuser.errors import DeniedError
from kubeuser.gateway import CSR_API, SIGNER, ServerVersion


def parse_version(doc: dict[str, Any]) -> ServerVersion:
    git = str(doc.get("gitVersion") or "")

    def num(v: Any) -> int:
        digits = "".join(ch for ch in str(v) if ch.isdigit())
        return int(digits) if digits else 0

    return ServerVersion(git_version=git, major=num(doc.get("major")), minor=num(doc.get("minor")))


def issued_certificate(csr: dict[str, Any]) -> bytes | None:
    """The PEM certificate of a CSR, None if not yet issued; raises DeniedError if denied/failed."""
    status = csr.get("status") or {}
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Denied", "Failed") and cond.get("status", "True") == "True":
            name = csr.get("metadata", {}).get("name", "?")
            detail = f"{cond.get('reason', '')} {cond.get('message', '')}".strip()
            raise DeniedError(
                f"CSR {name} was {cond['type'].lower()}: {detail}",
                hint="see `kubectl get csr " + name + " -o yaml`",
            )
    cert = status.get("certificate")
    if cert:
        return base64.b64decode(cert)
    return None


def csr_manifest(
    name: str,
    csr_pem: bytes,
    *,
    usages: list[str],
    expiration_seconds: int | None,
    labels: dict[str, str],
    annotations: dict[str, str],
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "request": base64.b64encode(csr_pem).decode("ascii"),
        "signerName": SIGNER,
        "usages": usages,
    }
    if expiration_seconds is not None:
        spec["expirationSeconds"] = expiration_seconds
    return {
        "apiVersion": CSR_API,
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": spec,
    }
