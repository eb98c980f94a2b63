"""The JSON Schema of every command's ``-o json`` (and ``-o yaml``) document, one per command.

A small subset of JSON Schema (draft 2020-12): ``type`` (a name or a list of names), ``properties``,
``required``, ``additionalProperties: false``, ``items``, ``enum`` and ``description``. Every object
lists all its keys, so a key added to an output without its schema (and docs) fails the tests
(tests/unit/test_output_schemas.py). docs/reference/json-output.md is generated from these
(``python tools/gen_output_reference.py``).
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]


def _t(kind: str | list[str], description: str, **more: Any) -> Schema:
    return {"type": kind, "description": description, **more}


def string(description: str, *, null: bool = False, enum: list[str] | None = None) -> Schema:
    s = _t(["string", "null"] if null else "string", description)
    if enum is not None:
        s["enum"] = [*enum, None] if null else enum
    return s


def integer(description: str, *, null: bool = False) -> Schema:
    return _t(["integer", "null"] if null else "integer", description)


def number(description: str) -> Schema:
    return _t("number", description)


def boolean(description: str) -> Schema:
    return _t("boolean", description)


def array(description: str, items: Schema, *, null: bool = False) -> Schema:
    return _t(["array", "null"] if null else "array", description, items=items)


def strings(description: str, *, null: bool = False) -> Schema:
    return array(description, {"type": "string"}, null=null)


def obj(
    description: str, properties: dict[str, Schema], *, optional: tuple[str, ...] = (), null: bool = False
) -> Schema:
    """An object with exactly these keys; all are always there but those named in *optional*."""
    return _t(
        ["object", "null"] if null else "object",
        description,
        properties=properties,
        required=[k for k in properties if k not in optional],
        additionalProperties=False,
    )


# shared parts ------------------------------------------------------------------------------------

TIME = "`YYYY-MM-DDTHH:MM:SSZ` (UTC)"


def role_ref(description: str, *, null: bool = False) -> Schema:
    return obj(
        description,
        {"kind": string("`Role` or `ClusterRole`"), "name": string("the role's name")},
        null=null,
    )


ACCESS_ITEM = obj(
    "one grant kubeuser made, as the registry record holds it",
    {
        "namespace": string("where the grant applies; null: cluster-wide (a ClusterRoleBinding)", null=True),
        "verbs": strings("the rule's verbs (only for a rule given with `--rule`)"),
        "resources": strings("the rule's resources"),
        "apiGroups": strings('the rule\'s API groups (`""`: the core group)'),
        "resourceNames": strings("the rule's resource names, if it has any"),
        "nonResourceURLs": strings("the rule's non-resource URLs, if it has any"),
        "roleRef": role_ref(
            "the role bound: the Role `kubeuser:USER` made from `--rule`, or the Role/ClusterRole named with "
            "`--role`/`--clusterrole` (whose rules the record does not hold)"
        ),
    },
    optional=("verbs", "resources", "apiGroups", "resourceNames", "nonResourceURLs"),
)


def access(description: str, *, null: bool = False) -> Schema:
    return array(description, ACCESS_ITEM, null=null)


RBAC_REF = obj(
    "an RBAC object kubeuser made",
    {
        "kind": string("`Role`, `RoleBinding` or `ClusterRoleBinding`"),
        "name": string("its name"),
        "namespace": string("its namespace; null for a ClusterRoleBinding", null=True),
        "roleRef": role_ref("the role a binding binds; null for a Role", null=True),
    },
)

CERT_VALID = obj(
    "a certificate that still authenticates",
    {"serial": string("serial number (hex)"), "notAfter": string(f"end of validity, {TIME}")},
)

IDENTITY = obj(
    "who the API server says the certificate is",
    {
        "username": string("the user name; null when the server does not say (before 1.27)", null=True),
        "groups": strings("the groups (empty before 1.27)"),
        "method": string("how it was learnt", enum=["SelfSubjectReview", "SelfSubjectAccessReview"]),
    },
)

LIFETIME_VERDICT = string(
    "`honoured`, `cut` (the signer's or token issuer's maximum is lower), `ignored` (certificates on Kubernetes "
    "< 1.22) or `extended` (a token the API server made longer-lived)",
    enum=["honoured", "cut", "ignored", "extended"],
)

BINDING_MATCH = obj(
    "a RoleBinding or ClusterRoleBinding naming the user or one of its groups",
    {
        "kind": string("`RoleBinding` or `ClusterRoleBinding`"),
        "name": string("its name"),
        "namespace": string("its namespace; null for a ClusterRoleBinding", null=True),
        "roleRef": role_ref("the role it binds"),
        "via": string("`user`, or `group:NAME` when it names one of the user's groups"),
        "managedByKubeuser": boolean("kubeuser made it (label app.kubernetes.io/managed-by=kubeuser)"),
    },
)

PERMISSION = obj(
    "one of the common SubjectAccessReview checks",
    {
        "verb": string("e.g. `list`"),
        "resource": string("e.g. `pods`, `pods/exec`"),
        "group": string('the API group (`""`: core)'),
        "namespace": string("the namespace checked; null: cluster-wide", null=True),
        "allowed": boolean("the authorizer's answer"),
    },
)

CERT_RECORD = obj(
    "a certificate issued to the user",
    {
        "serial": string("serial number (hex)"),
        "notBefore": string(f"start of validity, {TIME}"),
        "notAfter": string(f"end of validity, {TIME}"),
        "issuedAt": string(f"when kubeuser issued it, {TIME}"),
        "issuedBy": string("the admin identity that issued it"),
        "csrName": string("the CertificateSigningRequest used"),
        "requestedSeconds": integer("lifetime asked for", null=True),
        "replacedAt": string(f"when a newer certificate replaced it, {TIME}", null=True),
        "publicKeySha256": string("SHA-256 of the certificate's public key", null=True),
        "kind": string(
            "`x509` (a certificate), or `token`: a ServiceAccount token; `serial` is then the Secret it is bound to",
            enum=["x509", "token"],
        ),
        "boundSecretUid": string("tokens: the uid of the Secret it is bound to", null=True),
        "invalidatedAt": string(
            f"tokens: when kubeuser deleted the Secret it is bound to (it no longer works), {TIME}", null=True
        ),
    },
)

USER = obj(
    "a user kubeuser recorded",
    {
        "user": string("the user name (certificate CN)"),
        "auth": string(
            "how the user authenticates: `x509` (a client certificate) or `token` (ServiceAccount tokens)",
            enum=["x509", "token"],
        ),
        "serviceAccount": obj(
            "token identities: the ServiceAccount kubeuser owns for the user (null for certificates)",
            {"namespace": string("its namespace"), "name": string("its name")},
            null=True,
        ),
        "groups": strings("the groups (certificate O values)"),
        "status": string("the recorded status", enum=["active", "revoked"]),
        "effectiveStatus": string(
            "`active`, `expired` (the certificate's notAfter has passed) or `revoked`",
            enum=["active", "expired", "revoked"],
        ),
        "daysLeft": number("days until the certificate's notAfter (negative once expired)"),
        "cluster": string("the kubeconfig cluster name it was issued for"),
        "context": string("the kubeconfig context made for the user", null=True),
        "namespace": string("the user's namespace (of its context and bindings)"),
        "certificate": CERT_RECORD,
        "history": array("earlier certificates (or tokens), oldest first", CERT_RECORD),
        "signInTokens": array("token identities: the tokens `kubeuser token` issued, not yet tidied", CERT_RECORD),
        "bindings": array("kubeuser's RBAC objects for the user that exist now", RBAC_REF),
        "access": access(
            "what kubeuser granted, one object per grant; null for a record of kubeuser 0.1.0 not yet migrated",
            null=True,
        ),
        "createdAt": string(f"when the record was made, {TIME}"),
        "createdBy": string("the admin identity that made it"),
        "revokedAt": string(f"when it was revoked, {TIME}", null=True),
        "revokedBy": string("who revoked it", null=True),
        "format": integer("the record's storage format (1: kubeuser 0.1.0, rewritten as 2 on the next change)"),
        "keyType": string("`ecdsa`, `rsa` or `ed25519`; null if unknown (format 1)", null=True),
        "keySize": integer("key size in bits (null for ed25519, or unknown)", null=True),
        "keyHolder": string(
            "who made the private key: `admin` (kubeuser), or `user` (bring your own key)", enum=["admin", "user"]
        ),
        "delivery": string(
            "how the credentials were delivered; null if unknown (format 1)",
            null=True,
            enum=["kubeconfig", "handout", "ephemeral"],
        ),
        "out": string("the handout file written (`-`: stdout)", null=True),
        "kubeconfigUser": string("the kubeconfig user entry (delivery `kubeconfig`)", null=True),
        "kubeconfigFile": string("the kubeconfig it was merged into, on the issuing admin's machine", null=True),
    },
)

WARNINGS = strings("warnings (also printed on stderr)")

# one schema per command ----------------------------------------------------------------------------

LIST = obj("`kubeuser list`", {"users": array("the users, by name (with `--expiring`: those that match)", USER)})

SHOW = obj(
    "`kubeuser show NAME`: the user, as in `list`, and its effective access",
    {
        **USER["properties"],
        "effectiveAccess": obj(
            "what the cluster says the user may do now",
            {
                "namespace": string("the namespace checked (`-n`, else the user's)"),
                "bindings": array("every binding naming the user or one of its groups", BINDING_MATCH),
                "canI": array("the common checks, as the cluster's authorizer answers them", PERMISSION),
            },
        ),
    },
)

CREATE = obj(
    "`kubeuser create NAME`",
    {
        "user": string("the user name (certificate CN)"),
        "groups": strings("the groups (certificate O values)"),
        "cluster": string("the kubeconfig cluster name"),
        "server": string("the API server URL"),
        "serverVersion": string("e.g. `v1.30.2`"),
        "namespace": string("namespace of the bindings and of the new context"),
        "auth": string("`x509` (a client certificate) or `token` (a ServiceAccount token)", enum=["x509", "token"]),
        "csrName": string(
            "the CertificateSigningRequest used (the cluster deletes it about an hour later); null for a token",
            null=True,
        ),
        "serial": string("certificate serial number (hex); null for a token", null=True),
        "notBefore": string(f"start of validity, {TIME}"),
        "notAfter": string(f"end of validity, {TIME}"),
        "requestedSeconds": integer("lifetime asked for"),
        "grantedSeconds": integer("lifetime granted, from issuance to notAfter"),
        "lifetime": LIFETIME_VERDICT,
        "issuer": string("the certificate's issuer DN; null for a token", null=True),
        "chainVerified": boolean(
            "the certificate chains to the CA of the admin kubeconfig (false without CA data, and for a token)"
        ),
        "serviceAccount": obj(
            "token identities: the ServiceAccount kubeuser owns for the user (null for certificates)",
            {"namespace": string("its namespace"), "name": string("its name")},
            null=True,
        ),
        "boundSecret": string(
            "token: the Secret the token is bound to (deleting it kills the token); null for a certificate", null=True
        ),
        "context": string("the context created for the user"),
        "kubeconfig": string("the kubeconfig merged into; null with `--out`", null=True),
        "out": string("the standalone kubeconfig written (`-`: stdout)", null=True),
        "keyFile": string("the local copy of the private key (mode 0600); null with `--out` or `--csr`", null=True),
        "certFile": string("the local copy of the certificate", null=True),
        "rbac": array("the RBAC objects kubeuser made for the user", RBAC_REF),
        "identity": IDENTITY,
        "access": access("what was granted, one object per grant (as `list` and `show` say it)"),
        "effectiveRules": array(
            "every rule the user may use in `namespace` (SelfSubjectRulesReview as the new user, the rules every "
            "authenticated user has left out); null when not reviewed (`--csr`: kubeuser has no key to ask with)",
            obj(
                "a resource rule, as Kubernetes returns it",
                {
                    "verbs": strings("verbs"),
                    "apiGroups": strings("API groups"),
                    "resources": strings("resources"),
                    "resourceNames": strings("resource names"),
                },
                optional=("apiGroups", "resources", "resourceNames"),
            ),
            null=True,
        ),
        "removedGrants": strings("with `--force`: earlier kubeuser objects deleted as no longer asked for"),
        "invalidatedSecrets": strings(
            "with `--force` over a token identity: the Secrets of its earlier tokens, deleted (401 within ~10 s)"
        ),
        "serviceAccountDeleted": string(
            "with `--force` from a token identity to a certificate: the ServiceAccount deleted (NAMESPACE/NAME)",
            null=True,
        ),
        "earlierCertificatesStillValid": array(
            "with `--force`: earlier certificates that still authenticate", CERT_VALID
        ),
        "warnings": WARNINGS,
    },
)

CREATE_DRY_RUN = obj(
    "`kubeuser create NAME --dry-run`: the objects it would send (`-o yaml` and text: one YAML document each)",
    {
        "apiVersion": string("`v1`", enum=["v1"]),
        "kind": string("`List`", enum=["List"]),
        "items": array(
            "the CertificateSigningRequest, then the RBAC objects, as Kubernetes manifests",
            {"type": "object", "description": "a Kubernetes object"},
        ),
    },
)

RENEW = obj(
    "`kubeuser renew NAME`",
    {
        "user": string("the user name"),
        "auth": string("`x509` or `token`", enum=["x509", "token"]),
        "previousSerial": string("the certificate replaced; null for a token", null=True),
        "serial": string("the new certificate's serial number (hex); null for a token", null=True),
        "csrName": string("the CertificateSigningRequest used; null for a token", null=True),
        "serviceAccount": obj(
            "token identities: the ServiceAccount kubeuser owns for the user (null for certificates)",
            {"namespace": string("its namespace"), "name": string("its name")},
            null=True,
        ),
        "previousBoundSecret": string("token: the Secret the replaced token was bound to", null=True),
        "boundSecret": string("token: the Secret the new token is bound to", null=True),
        "invalidatedSecrets": strings("token: Secrets deleted, so every earlier token gets 401 within ~10 s"),
        "notBefore": string(f"start of validity, {TIME}"),
        "notAfter": string(f"end of validity, {TIME}"),
        "requestedSeconds": integer("lifetime asked for"),
        "grantedSeconds": integer("lifetime granted"),
        "lifetime": LIFETIME_VERDICT,
        "context": string("the user's kubeconfig context"),
        "kubeconfig": string("the kubeconfig updated; null for a handout", null=True),
        "out": string("the new handout written (`-`: stdout)", null=True),
        "keyReused": boolean("`--reuse-key`: the certificate is for the current key"),
        "keyType": string("the key type"),
        "keySize": integer("the key size (null for ed25519)", null=True),
        "delivery": string("how the new credentials were delivered", enum=["kubeconfig", "handout", "ephemeral"]),
        "staleHandout": string("the earlier handout file, which now holds an old certificate", null=True),
        "earlierCertificatesStillValid": array("earlier certificates that still authenticate", CERT_VALID),
        "rbacChanges": strings("RBAC objects restored to what the record says"),
        "warnings": WARNINGS,
    },
)

ERROR = obj(
    "an error",
    {
        "message": string("what went wrong"),
        "hint": string("what to do", null=True),
        "exitCode": integer("the exit code it stands for"),
    },
)

REVOKE = obj(
    "`kubeuser revoke NAME`",
    {
        "user": string("the user name"),
        "groups": strings("the recorded groups (their bindings still apply to the certificate)"),
        "registryNamespace": string("the registry namespace"),
        "recordFound": boolean("the registry had a record of the user"),
        "alreadyRevoked": boolean("it was revoked before"),
        "markedRevoked": boolean("the record is marked revoked now"),
        "removed": obj(
            "what was removed",
            {
                "rbac": strings("kubeuser's RBAC objects"),
                "csrs": strings("CertificateSigningRequests"),
                "kubeconfig": strings("kubeconfig entries"),
                "localFiles": strings("local key and certificate files (`--purge-local`)"),
                "foreignBindings": strings("bindings kubeuser did not make that named the user (`--all-bindings`)"),
            },
        ),
        "notTouched": obj(
            "what was left alone",
            {
                "otherRegistries": strings("objects of a user of the same name in another registry"),
                "kubeconfig": strings("kubeconfig entries kubeuser cannot prove it wrote"),
                "localFiles": strings("local files kubeuser cannot prove it wrote"),
                "localFilesWithoutPurge": strings("the user's local key files, kept: `--purge-local` deletes them"),
            },
        ),
        "currentContextCleared": string("the current-context removed with the user's context", null=True),
        "auth": string("`x509` or `token`", enum=["x509", "token"]),
        "serviceAccount": string("token identities: NAMESPACE/NAME of the ServiceAccount", null=True),
        "serviceAccountDeleted": boolean("token identities: the ServiceAccount was deleted (every token dies)"),
        "tokensInvalidated": strings("token identities: the Secrets deleted (their tokens get 401 within ~10 s)"),
        "residual": obj(
            "access that remains (Kubernetes cannot revoke a client certificate; tokens it can)",
            {
                "certificateStillAuthenticates": boolean("a certificate of the user is still valid"),
                "credentialStillAuthenticates": boolean("a certificate or token of the user still authenticates"),
                "notAfter": string(f"the current certificate's end, {TIME}", null=True),
                "certificatesStillValid": array("every certificate of the user still valid", CERT_VALID),
                "why": string("why revocation cannot end a certificate (or, for tokens, how it ends them)"),
                "bindings": array("bindings that still name the user or its groups", BINDING_MATCH),
                "namespace": string("the namespace of the checks below"),
                "stillAllowed": array("the common checks still allowed", PERMISSION),
            },
        ),
        "errors": array("steps that failed (exit code: the first one's)", ERROR),
    },
)

GRANT = obj(
    "`kubeuser grant NAME` and `kubeuser ungrant NAME`",
    {
        "user": string("the user name"),
        "dryRun": boolean("`--dry-run`: nothing was changed"),
        "changes": strings("the RBAC objects created, updated or deleted (`+`, `~`, `-`)"),
        "access": access("what the user is granted after the change, one object per grant"),
        "grants": strings("the same grants, one line each for people"),
        "rbac": array("the RBAC objects kubeuser keeps for the user after the change", RBAC_REF),
    },
)

CLEANUP = obj(
    "`kubeuser cleanup`",
    {
        "registryNamespace": string("the registry namespace"),
        "activeUsers": integer("users with an active record"),
        "delete": boolean("`--delete` was given"),
        "orphans": array(
            "objects interrupted runs left behind",
            obj(
                "a leftover object",
                {
                    "kind": string(
                        "`CertificateSigningRequest`, `Role`, `RoleBinding`, `ClusterRoleBinding`, `ServiceAccount` "
                        "or `Secret` (a token-binding Secret)"
                    ),
                    "name": string("its name"),
                    "namespace": string("its namespace", null=True),
                    "user": string("the user it was made for (annotation kubeuser.io/user)", null=True),
                    "reason": string("why it is a leftover"),
                    "created": string(f"its creationTimestamp, {TIME}", null=True),
                    "deleted": boolean("it was deleted"),
                    "error": string("why deleting it failed (only when it did)"),
                },
                optional=("error",),
            ),
        ),
        "deletedCount": integer("objects deleted"),
        "skippedTooYoung": integer("objects younger than `--min-age`, left alone"),
        "minAgeSeconds": integer("the `--min-age` in seconds"),
        "keptUsers": strings("users whose record became active before deletion: their objects were kept"),
        "otherRegistries": strings("objects of another registry, not touched"),
        "keptUnprovable": strings("objects of kubeuser 0.1.0 whose owner cannot be checked, kept"),
        "notChecked": strings("kinds of objects that could not be listed (forbidden): not checked"),
    },
)

CHECK = {
    "id": string("a stable identifier, e.g. `authentication`"),
    "title": string("what is checked"),
    "status": string("the outcome", enum=["pass", "fail", "warn", "skip"]),
    "detail": string("what was found"),
    "fix": string("what to do about a failure or warning", null=True),
    "required": boolean("the verdict (exit status) rests on it: a failure fails the command"),
}

DOCTOR = obj(
    "`kubeuser doctor`",
    {
        "kind": string("`DoctorReport`", enum=["DoctorReport"]),
        "kubeconfig": strings("the kubeconfig files read"),
        "context": string("the context checked", null=True),
        "cluster": string("its cluster", null=True),
        "user": string("its user entry", null=True),
        "server": string("the API server URL", null=True),
        "namespace": string("the namespace checked", null=True),
        "credential": string(
            "the kind of credential: `client-certificate`, `token`, `exec`, `auth-provider`, `basic-auth` or `none`",
            null=True,
        ),
        "authenticated": boolean("the identity authenticates (exit 0)"),
        "identity": obj(
            "who the server says the identity is",
            {
                "username": string("the user name", null=True),
                "groups": strings("the groups"),
                "method": string("`SelfSubjectReview` or `SelfSubjectAccessReview`"),
            },
            null=True,
        ),
        "checks": array("every check, in order", obj("a check", CHECK)),
    },
)

PREFLIGHT = obj(
    "`kubeuser preflight`",
    {
        "kind": string("`PreflightReport`", enum=["PreflightReport"]),
        "context": string("the context checked"),
        "server": string("the API server URL"),
        "serverVersion": string("the server's version", null=True),
        "identity": string("the admin identity", null=True),
        "namespace": string("the namespace checked"),
        "registryNamespace": string("the registry namespace"),
        "ok": boolean("every required check passed (exit 0)"),
        "checks": array(
            "every check, in order",
            obj("a check", CHECK),
        ),
    },
)

APPROVE = obj(
    "`kubeuser approve`",
    {
        "mode": string("`list` (no names, no `--all-pending`) or `approve`", enum=["list", "approve"]),
        "dryRun": boolean("`--dry-run`: nothing was changed"),
        "maxTtlSeconds": integer("`--max-ttl` in seconds", null=True),
        "serverVersion": string("the server's version", null=True),
        "csrs": array(
            "the requests",
            obj(
                "a CertificateSigningRequest",
                {
                    "name": string("its name"),
                    "signerName": string("its signer", null=True),
                    "state": string("its state", enum=["pending", "approved", "denied", "failed", "not-found"]),
                    "managedByKubeuser": boolean("kubeuser's own request (create approves those)"),
                    "commonName": string("the subject CN it asks for", null=True),
                    "organizations": strings("the subject O values (groups) it asks for"),
                    "keyType": string("the key type", null=True),
                    "keySize": integer("the key size", null=True),
                    "usages": strings("the key usages it asks for"),
                    "requestedSeconds": integer("expirationSeconds; null: the signer's default", null=True),
                    "requestor": obj(
                        "who submitted it",
                        {"username": string("user name", null=True), "groups": strings("groups")},
                    ),
                    "verdict": string("the policy's verdict; null: not judged", null=True, enum=["pass", "fail"]),
                    "violations": array(
                        "why it fails the policy",
                        obj("a violation", {"field": string("what is wrong"), "message": string("why")}),
                    ),
                    "action": string(
                        "what was done",
                        enum=[
                            "none",
                            "approved",
                            "would-approve",
                            "denied",
                            "would-deny",
                            "failed-policy",
                            "skipped-kubeuser",
                            "skipped-other-signer",
                            "skipped-decided",
                            "not-found",
                        ],
                    ),
                    "detail": string("why it was left alone", null=True),
                },
            ),
        ),
        "failedPolicy": strings("requests that fail the policy (exit 12)"),
        "notes": strings("notes"),
    },
)

APPLY_USER = obj(
    "one user of the file",
    {
        "user": string("the user name"),
        "action": string("what apply does for it", enum=["create", "renew", "reissue", "update", "unchanged", "prune"]),
        "reason": string("why"),
        "status": string("`done`, `planned` (`--dry-run`) or `failed`", enum=["done", "planned", "failed"]),
        "serial": string("the new certificate's serial", null=True),
        "notAfter": string(f"its end, {TIME}", null=True),
        "kubeconfig": string("the file holding the user's new credentials", null=True),
        "context": string("the user's context", null=True),
        "note": string("a note", null=True),
        "rbac": strings("RBAC changes, one line each"),
        "warnings": WARNINGS,
        "error": obj("why the user failed", ERROR["properties"], null=True),
        "seconds": number("time taken"),
    },
)

APPLY = obj(
    "`kubeuser apply -f FILE`",
    {
        "kind": string("`ApplyResult`", enum=["ApplyResult"]),
        "file": string("the users file"),
        "dryRun": boolean("`--dry-run`: nothing was changed"),
        "registryNamespace": string("the registry namespace"),
        "outDir": string("`--out-dir`", null=True),
        "parallel": integer("`--parallel`"),
        "summary": obj(
            "how many users each action concerned",
            {
                **{a: integer(f"users to {a}") for a in ("create", "renew", "reissue", "update", "unchanged", "prune")},
                "failed": integer("users that failed"),
            },
        ),
        "prune": obj(
            "with `--prune`: the mass-prune guard",
            {
                "revoke": integer("users the prune revokes"),
                "active": integer("active users"),
                "limit": integer("the most a prune may revoke without `--allow-mass-prune`"),
                "maxPrune": integer("`--max-prune`", null=True),
                "confirmed": boolean("`--allow-mass-prune` was given"),
                "refused": boolean("the prune was refused"),
            },
        ),
        "users": array("every user of the file, and those pruned", APPLY_USER),
        "seconds": number("time taken"),
    },
    optional=("prune",),
)

REQUEST = obj(
    "`kubeuser request NAME`",
    {
        "user": string("the user name (CN) asked for"),
        "groups": strings("the groups (O) asked for"),
        "keyType": string("the key type"),
        "keySize": integer("the key size (null for ed25519)", null=True),
        "publicKeySha256": string("SHA-256 of the public key"),
        "pendingDirectory": string("where the private key waits for the certificate"),
        "request": string("the certificate request (PEM) to send to the admin"),
        "otherPendingRequests": integer("earlier requests of the user still pending"),
    },
)

IMPORT = obj(
    "`kubeuser import FILE`",
    {
        "user": string("the user name"),
        "groups": strings("the certificate's groups"),
        "serial": string("the certificate's serial"),
        "notAfter": string(f"its end, {TIME}"),
        "context": string("the context added"),
        "kubeconfig": string("the kubeconfig written"),
        "identity": obj(
            "who the server says the certificate is",
            {"username": string("the user name", null=True), "method": IDENTITY["properties"]["method"]},
        ),
        "removedPending": strings("the pending request directories removed"),
    },
)

TOKEN = obj(
    "`kubeuser token NAME`: a new token (the token itself is in this document: it is what was asked for)",
    {
        "user": string("the user name"),
        "token": string("the bearer token"),
        "expirationTimestamp": string(f"when it stops working, {TIME}"),
        "username": string("who the API server sees: `system:serviceaccount:NAMESPACE:NAME`"),
        "serviceAccount": obj(
            "the user's ServiceAccount", {"namespace": string("its namespace"), "name": string("its name")}
        ),
        "boundSecret": string("the Secret the token is bound to (`kubeuser revoke` deletes it)"),
        "requestedSeconds": integer("lifetime asked for"),
        "grantedSeconds": integer("lifetime granted"),
        "lifetime": LIFETIME_VERDICT,
    },
)

# command → schema of its -o json document (`run` has none: its stdout is CMD's)
COMMANDS: dict[str, Schema] = {
    "list": LIST,
    "show": SHOW,
    "create": CREATE,
    "create --dry-run": CREATE_DRY_RUN,
    "renew": RENEW,
    "revoke": REVOKE,
    "token": TOKEN,
    "grant": GRANT,
    "ungrant": GRANT,
    "apply": APPLY,
    "cleanup": CLEANUP,
    "approve": APPROVE,
    "doctor": DOCTOR,
    "preflight": PREFLIGHT,
    "request": REQUEST,
    "import": IMPORT,
}
