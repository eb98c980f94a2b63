#!/usr/bin/env bash
# The manual onboarding procedure an admin types today (../shared/seeds: "X.509 procedure"), one user:
# openssl key + CSR → CertificateSigningRequest → approve → poll for the certificate → Role + RoleBinding →
# kubeconfig credentials + context → first request as the user.
#   bench/manual.sh USER NAMESPACE ADMIN_KUBECONFIG CLUSTER_NAME
# The admin kubeconfig is modified (user + context added), as the manual procedure does.
set -euo pipefail
user=$1 ns=$2 kc=$3 cluster=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
k() { kubectl --kubeconfig "$kc" "$@"; }

openssl genrsa -out "$work/$user.key" 2048 2>/dev/null
openssl req -new -key "$work/$user.key" -out "$work/$user.csr" -subj "/CN=$user/O=dev"
k apply -f - >/dev/null <<YAML
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: $user
spec:
  request: $(base64 -w0 <"$work/$user.csr")
  signerName: kubernetes.io/kube-apiserver-client
  usages: ["client auth"]
YAML
k certificate approve "$user" >/dev/null
# poll for the signed certificate (tight 0.2 s loop: kinder to the manual side than a typical `sleep 1`)
for _ in $(seq 1 300); do
  cert=$(k get csr "$user" -o jsonpath='{.status.certificate}')
  [ -n "$cert" ] && break
  sleep 0.2
done
[ -n "$cert" ] || { echo "no certificate for $user" >&2; exit 1; }
printf '%s' "$cert" | base64 -d >"$work/$user.crt"
k create role "manual:$user" --verb=get,list --resource=pods -n "$ns" >/dev/null
k create rolebinding "manual:$user" --role="manual:$user" --user="$user" -n "$ns" >/dev/null
k config set-credentials "$user" --client-key="$work/$user.key" --client-certificate="$work/$user.crt" \
  --embed-certs=true >/dev/null
k config set-context "$user" --cluster="$cluster" --user="$user" --namespace="$ns" >/dev/null
k --context "$user" get pods -n "$ns" >/dev/null 2>&1
