#!/usr/bin/env bash
# The manual procedure for what `kubeuser create USER --auth token --ttl 8h --clusterrole view -n NAMESPACE`
# gives, one user: a ServiceAccount → a Secret to bind the token to (so deleting it kills the token) →
# a token from the TokenRequest API bound to that Secret → a RoleBinding to the ClusterRole view →
# kubeconfig credentials + context → first request as the user.
#   bench/manual-token.sh USER NAMESPACE ADMIN_KUBECONFIG CLUSTER_NAME
# The ServiceAccount and Secret go to NAMESPACE; the admin kubeconfig is modified (user + context added),
# as the manual procedure does.
set -euo pipefail
user=$1 ns=$2 kc=$3 cluster=$4
k() { kubectl --kubeconfig "$kc" "$@"; }

k create serviceaccount "$user" -n "$ns" >/dev/null
k create secret generic "$user-token" -n "$ns" >/dev/null
token=$(k create token "$user" -n "$ns" --bound-object-kind Secret --bound-object-name "$user-token" --duration 8h)
k create rolebinding "manual:$user" --clusterrole=view --serviceaccount="$ns:$user" -n "$ns" >/dev/null
k config set-credentials "$user" --token="$token" >/dev/null
k config set-context "$user" --cluster="$cluster" --user="$user" --namespace="$ns" >/dev/null
k --context "$user" get pods -n "$ns" >/dev/null 2>&1
