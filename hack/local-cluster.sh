#!/usr/bin/env bash
# A real, local Kubernetes control plane (etcd + kube-apiserver + kube-controller-manager) on 127.0.0.1,
# built from Debian bookworm's `kubernetes` source package (v1.20.2). No containers, no downloads of
# prebuilt binaries. See docs/local-cluster.md.
#
# Usage: hack/local-cluster.sh VERB [DIR]
#   deps           install build/run dependencies (Debian packages, kubernetes source) if needed
#   build          build kube-apiserver + kube-controller-manager once, cached per version
#   up [DIR]       generate PKI, start etcd, kube-apiserver, kube-controller-manager; print env
#   down [DIR]     stop exactly the processes started by `up` in DIR (idempotent)
#   env [DIR]      print DIR/env (shell export lines)
#   status [DIR]   show processes and health; exit 0 only when all are healthy
#   cm-stop [DIR]  stop only kube-controller-manager (no CSR signer any more)
#   cm-start [DIR] start kube-controller-manager again and wait for health
#   paths          print where the cached binaries live
# DIR defaults to ./.kubeuser-cluster. Cache: ${KUBEUSER_CACHE:-$HOME/.cache/kubeuser}.
set -euo pipefail

K8S_VERSION=v1.20.2
K8S_SRC_MATCH='really1.20.2'
CLUSTER_NAME=kubeuser-local
CACHE_ROOT=${KUBEUSER_CACHE:-${HOME:-/tmp}/.cache/kubeuser}
VDIR=$CACHE_ROOT/k8s/$K8S_VERSION
BIN=$VDIR/bin
SRCDL=$VDIR/src
WORK=$VDIR/work
BUILD_LOG=$VDIR/build.log
UP_TIMEOUT=${KUBEUSER_UP_TIMEOUT:-90}
STOP_TIMEOUT=${KUBEUSER_STOP_TIMEOUT:-10}
DEBSRC_FILE=/etc/apt/sources.list.d/kubeuser-deb-src.sources

log() { printf '[local-cluster] %s\n' "$*" >&2; }
die() { printf '[local-cluster] ERROR: %s\n' "$*" >&2; exit 1; }
now() { date +%s; }

# ---------------------------------------------------------------------------------------------- deps
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root (or sudo) to run: $*"
  fi
}

apt_install() {
  local rc=0
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
    >>"$DEPS_LOG" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    log "apt-get install failed; running apt-get update and retrying"
    as_root apt-get update -q >>"$DEPS_LOG" 2>&1 || true
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" \
      >>"$DEPS_LOG" 2>&1 || { tail -n 20 "$DEPS_LOG" >&2; die "apt-get install $* failed (log: $DEPS_LOG)"; }
  fi
}

have_binaries() {
  [ -f "$BIN/.complete" ] && [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]
}

# Packages needed to *run* a cluster (always) and to *build* one (only when the build is not cached).
deps_runtime() {
  local missing=()
  command -v etcd >/dev/null || missing+=(etcd-server)
  command -v etcdctl >/dev/null || missing+=(etcd-client)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v flock >/dev/null || missing+=(util-linux)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    apt_install "${missing[@]}"
  fi
}

# Print the archive URI and Signed-By of the bookworm `deb` entry (deb822 or one-line format).
debian_archive() {
  local f uri="" signed=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    [ "$f" = "$DEBSRC_FILE" ] && continue
    # deb822: stanzas separated by blank lines.
    read -r uri signed < <(awk -v RS='' '
      /(^|\n)Suites:[^\n]*[ \t]bookworm([ \t]|\n|$)/ && /(^|\n)Types:[^\n]*deb/ {
        u=""; s="";
        n=split($0, L, "\n");
        for (i=1;i<=n;i++) {
          if (L[i] ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", L[i]); split(L[i], W, /[ \t]+/); u=W[1] }
          if (L[i] ~ /^Signed-By:/) { sub(/^Signed-By:[ \t]*/, "", L[i]); s=L[i] }
        }
        if (u != "") { print u, s; exit }
      }' "$f") || true
    [ -n "$uri" ] && break
  done
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1=="deb" && / bookworm / { for (i=2;i<=NF;i++) if ($i !~ /^\[/) { print $i; exit } }' || true)
  fi
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  printf '%s %s\n' "$uri" "$signed"
}

enable_deb_src() {
  if apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version: .*$K8S_SRC_MATCH"; then
    return 0
  fi
  local uri signed
  read -r uri signed < <(debian_archive)
  log "enabling deb-src for bookworm ($uri) in $DEBSRC_FILE"
  {
    printf 'Types: deb-src\nURIs: %s\nSuites: bookworm\nComponents: main\n' "$uri"
    [ -z "$signed" ] || printf 'Signed-By: %s\n' "$signed"
  } | as_root tee "$DEBSRC_FILE" >/dev/null
  as_root apt-get update -q >>"$DEPS_LOG" 2>&1 || { tail -n 20 "$DEPS_LOG" >&2; die "apt-get update failed"; }
  apt-cache showsrc kubernetes 2>/dev/null | grep -q "^Version: .*$K8S_SRC_MATCH" ||
    die "Debian source package kubernetes ($K8S_SRC_MATCH) not found after enabling deb-src"
}

source_tarball() {
  compgen -G "$SRCDL/kubernetes_*${K8S_SRC_MATCH}.orig.tar.*" | head -n 1 || true
}

reflect2_dir() {
  local d=$SRCDL/reflect2/usr/share/gocode/src/github.com/modern-go/reflect2
  [ -f "$d/reflect2.go" ] && printf '%s\n' "$d"
}

deps_build() {
  command -v go >/dev/null || { log "installing golang-go"; apt_install golang-go; }
  mkdir -p "$SRCDL"
  if [ -z "$(source_tarball)" ]; then
    enable_deb_src
    log "fetching the kubernetes source package (apt-get source --download-only)"
    local ver
    ver=$(apt-cache showsrc kubernetes | awk -v m="$K8S_SRC_MATCH" '/^Version:/ && index($2, m) { print $2; exit }')
    (cd "$SRCDL" && apt-get source -q --download-only "kubernetes=$ver") >>"$DEPS_LOG" 2>&1 ||
      { tail -n 20 "$DEPS_LOG" >&2; die "apt-get source kubernetes failed (log: $DEPS_LOG)"; }
    [ -n "$(source_tarball)" ] || die "no kubernetes_*${K8S_SRC_MATCH}.orig.tar.* in $SRCDL"
  fi
  if [ -z "$(reflect2_dir)" ]; then
    log "fetching golang-github-modern-go-reflect2-dev (fixed reflect2 for Go >= 1.18)"
    rm -rf "$SRCDL/reflect2" "$SRCDL"/golang-github-modern-go-reflect2-dev_*.deb
    (cd "$SRCDL" && apt-get download -q golang-github-modern-go-reflect2-dev) >>"$DEPS_LOG" 2>&1 || {
      as_root apt-get update -q >>"$DEPS_LOG" 2>&1 || true
      (cd "$SRCDL" && apt-get download -q golang-github-modern-go-reflect2-dev) >>"$DEPS_LOG" 2>&1
    } || { tail -n 20 "$DEPS_LOG" >&2; die "apt-get download golang-github-modern-go-reflect2-dev failed"; }
    dpkg-deb -x "$SRCDL"/golang-github-modern-go-reflect2-dev_*.deb "$SRCDL/reflect2"
    [ -n "$(reflect2_dir)" ] || die "reflect2 sources not found in the Debian package"
  fi
}

cmd_deps() {
  mkdir -p "$VDIR"
  DEPS_LOG=$VDIR/deps.log
  deps_runtime
  if have_binaries; then
    log "build cached in $BIN; skipping build dependencies"
  else
    deps_build
  fi
}

# --------------------------------------------------------------------------------------------- build
phase_start() { PHASE=$1; PHASE_T0=$(now); log "$PHASE ..."; echo "=== $PHASE" >>"$BUILD_LOG"; }
phase_end() { log "$PHASE done in $(($(now) - PHASE_T0))s"; }

build_fail() {
  log "build failed during: ${PHASE:-?}; last lines of $BUILD_LOG:"
  tail -n 30 "$BUILD_LOG" >&2 || true
  exit 1
}

cmd_build() {
  if have_binaries; then
    log "kube-apiserver + kube-controller-manager $K8S_VERSION cached in $BIN"
    return 0
  fi
  mkdir -p "$VDIR"
  exec 9>"$VDIR/.build.lock"
  if ! flock -n 9; then
    log "another build holds $VDIR/.build.lock; waiting"
    flock 9
  fi
  if have_binaries; then
    log "built by a concurrent run; cached in $BIN"
    return 0
  fi
  local t0
  t0=$(now)
  : >"$BUILD_LOG"
  set -E
  trap build_fail ERR
  phase_start "deps"
  cmd_deps
  phase_end

  export GO111MODULE=off CGO_ENABLED=0 GOFLAGS= GOPATH=$WORK/gopath GOCACHE=$WORK/gocache
  export GOTOOLCHAIN=local GOPROXY=off
  local ksrc=$GOPATH/src/k8s.io/kubernetes
  phase_start "prep (extract source, patch reflect2, generate openapi)"
  rm -rf "$WORK"
  mkdir -p "$ksrc"
  tar -xf "$(source_tarball)" -C "$ksrc" --strip-components=1
  [ -d "$ksrc/cmd/kube-apiserver" ] || die "unexpected source layout in $(source_tarball)"
  # 1. vendored reflect2 v1.0.1 crashes on Go >= 1.18: use Debian's 1.0.2 sources.
  local r2=$ksrc/vendor/github.com/modern-go/reflect2
  rm -f "$r2"/*.go "$r2"/*.s
  find "$(reflect2_dir)" -maxdepth 1 -type f \( -name '*.go' -o -name '*.s' \) ! -name '*_test.go' \
    -exec cp {} "$r2/" \;
  # 2. zz_generated.openapi.go is not shipped: generate it as upstream's Makefile.generated_files does.
  echo "go version: $(go version)" >>"$BUILD_LOG"
  (cd "$ksrc" && go build -o "$WORK/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen) >>"$BUILD_LOG" 2>&1
  local dirs
  # Same selection as build/root/Makefile.generated_files: every Go dir outside ./vendor, ./_*, ./.*
  # (staging/src/X named vendor/X) with a `+k8s:openapi-gen=` tag, minus code-generator/sample-apiserver.
  dirs=$(cd "$ksrc" &&
    find . \( -path ./vendor -o -path './_*' -o -path './.*' \) -prune -o -type f -name '*.go' -print0 |
    xargs -0 grep -l -e '^// *+k8s:openapi-gen=' |
    sed -e 's#^\./##' -e 's#^staging/src/#vendor/#' -e 's#/[^/]*$##' |
    grep -v -e '^vendor/k8s.io/code-generator/' -e '^vendor/k8s.io/sample-apiserver/' |
    LC_ALL=C sort -u | sed -e 's#^#k8s.io/kubernetes/#' | paste -sd, -)
  [ -n "$dirs" ] || die "no +k8s:openapi-gen= packages found"
  echo "openapi-gen input dirs: $(tr ',' '\n' <<<"$dirs" | wc -l)" >>"$BUILD_LOG"
  (cd "$ksrc" && "$WORK/openapi-gen" --logtostderr \
    -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h "$ksrc/vendor/k8s.io/code-generator/hack/boilerplate.go.txt" \
    -r "$WORK/openapi-violations.report" --output-base "$GOPATH/src") >>"$BUILD_LOG" 2>&1
  [ -f "$ksrc/pkg/generated/openapi/zz_generated.openapi.go" ] || die "openapi-gen produced no output"
  phase_end

  local vpkg=k8s.io/kubernetes/vendor/k8s.io
  local ld="-s -w" p
  for p in component-base/version client-go/pkg/version; do
    ld+=" -X $vpkg/$p.gitVersion=$K8S_VERSION -X $vpkg/$p.gitMajor=1 -X $vpkg/$p.gitMinor=20"
    ld+=" -X $vpkg/$p.gitTreeState=clean -X $vpkg/$p.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  done
  mkdir -p "$WORK/out"
  for p in kube-apiserver kube-controller-manager; do
    phase_start "go build $p"
    (cd "$ksrc" && go build -trimpath -ldflags "$ld" -o "$WORK/out/$p" "k8s.io/kubernetes/cmd/$p") >>"$BUILD_LOG" 2>&1
    phase_end
  done
  "$WORK/out/kube-apiserver" --version >>"$BUILD_LOG" 2>&1
  "$WORK/out/kube-apiserver" --version | grep -q "$K8S_VERSION" || die "version stamp missing"
  trap - ERR
  set +E
  rm -rf "$BIN"
  mkdir -p "$BIN"
  mv "$WORK/out/kube-apiserver" "$WORK/out/kube-controller-manager" "$BIN/"
  touch "$BIN/.complete"
  if [ "${KUBEUSER_KEEP_BUILD:-0}" != 1 ]; then
    chmod -R u+w "$WORK" 2>/dev/null || true
    rm -rf "$WORK"
  fi
  log "built $K8S_VERSION in $(($(now) - t0))s -> $BIN (log: $BUILD_LOG)"
}

# ----------------------------------------------------------------------------------------------- PKI
# sign NAME SUBJ CA_NAME EXT... : key + cert NAME.{key,crt} under $PKI, signed by CA_NAME (in $PKI).
sign() {
  local name=$1 subj=$2 ca=$3 ext=$4
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -new -key "$PKI/$name.key" -subj "$subj" -out "$PKI/$name.csr" 2>/dev/null
  printf '[v3]\n%s\n' "$ext" >"$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$PKI/$name.ext" -extensions v3 -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

make_ca() {
  local name=$1 cn=$2
  openssl genrsa -out "$PKI/$name.key" 2048 2>/dev/null
  openssl req -x509 -new -key "$PKI/$name.key" -subj "/CN=$cn" -days 3650 -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$PKI/$name.crt" 2>/dev/null
}

gen_pki() {
  PKI=$DIR/pki
  if [ -f "$PKI/.complete" ]; then return 0; fi
  log "generating PKI in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  local client="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
  local server="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth"
  make_ca ca "$CLUSTER_NAME-ca"
  sign apiserver "/CN=kube-apiserver" ca "$server
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  sign admin "/O=system:masters/CN=admin" ca "$client"
  sign controller-manager "/CN=system:kube-controller-manager" ca "$client"
  sign controller-manager-serving "/CN=kube-controller-manager" ca "$server
subjectAltName=IP:127.0.0.1,DNS:localhost"
  make_ca front-proxy-ca "$CLUSTER_NAME-front-proxy-ca"
  sign front-proxy-client "/CN=front-proxy-client" front-proxy-ca "$client"
  openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
  openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  chmod 600 "$PKI"/*.key
  touch "$PKI/.complete"
}

b64() { base64 -w0 <"$1"; }

# write_kubeconfig FILE USER CERT KEY
write_kubeconfig() {
  local file=$1 user=$2 cert=$3 key=$4 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: $CLUSTER_NAME
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(b64 "$cert")
    client-key-data: $(b64 "$key")
contexts:
- name: $user@$CLUSTER_NAME
  context:
    cluster: $CLUSTER_NAME
    user: $user
current-context: $user@$CLUSTER_NAME
preferences: {}
EOF
  chmod 600 "$tmp"
  mv "$tmp" "$file"
}

# --------------------------------------------------------------------------------------------- ports
free_ports() { # N -> N distinct free loopback TCP ports, space separated
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

port_free() {
  # SO_REUSEADDR like the servers themselves: a port with only TIME_WAIT leftovers counts as free.
  python3 -c 'import socket as S,sys; s=S.socket(); s.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# --------------------------------------------------------------------------------------- processes
set_dir() {
  DIR=${1:-./.kubeuser-cluster}
  if [ -d "$DIR" ]; then DIR=$(cd "$DIR" && pwd); else
    case $DIR in /*) ;; *) DIR=$PWD/$DIR ;; esac
  fi
  RUN=$DIR/run
  LOGS=$DIR/logs
  PKI=$DIR/pki
  STATE=$DIR/run/state
}

load_state() {
  [ -f "$STATE" ] || die "no cluster state in $DIR (run: $0 up $DIR)"
  # shellcheck disable=SC1090
  . "$STATE"
}

pid_of() { # component -> pid if that process is alive and is ours
  local f=$RUN/$1.pid pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
  # Guard against PID reuse: the process must be the same binary, started for this DIR.
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$DIR/" || return 1
  [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
  printf '%s\n' "$pid"
}

start_proc() { # component cmd args...
  local name=$1
  shift
  : >>"$LOGS/$name.log"
  printf '\n==== %s start %s\n' "$name" "$(date -u +%FT%TZ)" >>"$LOGS/$name.log"
  # In its own session; the PID written is the exec'd binary's.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$RUN/$name.pid" "$@" \
    </dev/null >>"$LOGS/$name.log" 2>&1 &
  local i
  for i in $(seq 50); do [ -s "$RUN/$name.pid" ] && break; sleep 0.02; done
}

stop_proc() { # component
  local name=$1 pid i
  if pid=$(pid_of "$name"); then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq $((STOP_TIMEOUT * 10))); do
      [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then
      log "$name (pid $pid) did not stop after ${STOP_TIMEOUT}s; sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$RUN/$name.pid"
}

health() { # component -> 0 if healthy
  case $1 in
    etcd) curl -fsS -m 3 "http://127.0.0.1:$ETCD_CLIENT_PORT/health" 2>/dev/null | grep -q '"health":"true"' ;;
    kube-apiserver)
      [ "$(curl -fsS -m 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://127.0.0.1:$APISERVER_PORT/readyz" 2>/dev/null)" = ok ] ;;
    kube-controller-manager)
      [ "$(curl -fsS -m 3 --cacert "$PKI/ca.crt" "https://127.0.0.1:$CM_PORT/healthz" 2>/dev/null)" = ok ] ;;
  esac
}

wait_healthy() { # component
  local name=$1 t0 deadline
  t0=$(now)
  deadline=$((t0 + UP_TIMEOUT))
  while ! health "$name"; do
    if ! pid_of "$name" >/dev/null; then
      log "$name exited before becoming healthy; last lines of $LOGS/$name.log:"
      tail -n 25 "$LOGS/$name.log" >&2
      return 1
    fi
    if [ "$(now)" -ge "$deadline" ]; then
      log "$name not healthy after ${UP_TIMEOUT}s; last lines of $LOGS/$name.log:"
      tail -n 25 "$LOGS/$name.log" >&2
      return 1
    fi
    sleep 0.25
  done
  log "$name healthy after $(($(now) - t0))s"
}

start_etcd() {
  start_proc etcd "$ETCD_BIN" --name "$CLUSTER_NAME" --data-dir "$DIR/data/etcd" --logger zap \
    --listen-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "$CLUSTER_NAME=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new --initial-cluster-token "$CLUSTER_NAME" \
    --listen-metrics-urls "http://127.0.0.1:$ETCD_METRICS_PORT"
}

start_apiserver() {
  start_proc kube-apiserver "$K8S_BIN/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" --insecure-port=0 \
    --etcd-servers="http://127.0.0.1:$ETCD_CLIENT_PORT" \
    --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --client-ca-file="$PKI/ca.crt" --anonymous-auth=false --authorization-mode=Node,RBAC \
    --enable-bootstrap-token-auth=true \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
    --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
    --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
    --requestheader-extra-headers-prefix=X-Remote-Extra- \
    --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
    --profiling=false --v=1
}

start_cm() {
  start_proc kube-controller-manager "$K8S_BIN/kube-controller-manager" \
    --kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --secure-port="$CM_PORT" --port=0 \
    --tls-cert-file="$PKI/controller-manager-serving.crt" \
    --tls-private-key-file="$PKI/controller-manager-serving.key" \
    --client-ca-file="$PKI/ca.crt" --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" \
    --cluster-name="$CLUSTER_NAME" \
    --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
    --root-ca-file="$PKI/ca.crt" --service-account-private-key-file="$PKI/sa.key" \
    --use-service-account-credentials=true \
    --controllers='*,bootstrapsigner,tokencleaner' --leader-elect=false \
    --profiling=false --v=1
}

write_env() {
  local tmp
  tmp=$(mktemp "$DIR/env.XXXXXX")
  {
    printf 'export KUBECONFIG=%q\n' "$DIR/admin.kubeconfig"
    printf 'export KUBEUSER_CLUSTER_DIR=%q\n' "$DIR"
    printf 'export KUBEUSER_SERVER=%q\n' "https://127.0.0.1:$APISERVER_PORT"
    printf 'export KUBEUSER_APISERVER_PORT=%q\n' "$APISERVER_PORT"
    printf 'export KUBEUSER_CONTROLLER_MANAGER_PORT=%q\n' "$CM_PORT"
    printf 'export KUBEUSER_ETCD_CLIENT_PORT=%q\n' "$ETCD_CLIENT_PORT"
    printf 'export KUBEUSER_ETCD_PEER_PORT=%q\n' "$ETCD_PEER_PORT"
    printf 'export KUBEUSER_ETCD_METRICS_PORT=%q\n' "$ETCD_METRICS_PORT"
    printf 'export KUBEUSER_CA_CERT=%q\n' "$PKI/ca.crt"
    printf 'export KUBEUSER_CA_KEY=%q\n' "$PKI/ca.key"
  } >"$tmp"
  mv "$tmp" "$DIR/env"
}

write_state() {
  {
    printf 'APISERVER_PORT=%q\nCM_PORT=%q\n' "$APISERVER_PORT" "$CM_PORT"
    printf 'ETCD_CLIENT_PORT=%q\nETCD_PEER_PORT=%q\nETCD_METRICS_PORT=%q\n' \
      "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$ETCD_METRICS_PORT"
    printf 'K8S_BIN=%q\nETCD_BIN=%q\n' "$K8S_BIN" "$ETCD_BIN"
  } >"$STATE"
}

all_running() {
  local c
  for c in etcd kube-apiserver kube-controller-manager; do pid_of "$c" >/dev/null || return 1; done
}

cmd_up() {
  set_dir "${1:-}"
  local t0
  t0=$(now)
  mkdir -p "$DIR" "$RUN" "$LOGS"
  DIR=$(cd "$DIR" && pwd)
  set_dir "$DIR"
  if [ -f "$STATE" ] && all_running; then
    load_state
    if health etcd && health kube-apiserver && health kube-controller-manager; then
      log "already up in $DIR"
      cat "$DIR/env"
      return 0
    fi
  fi
  # Partial leftovers from an earlier run: stop them first.
  local c
  for c in kube-controller-manager kube-apiserver etcd; do stop_proc "$c"; done

  if ! have_binaries; then die "kube-apiserver/kube-controller-manager not built: run $0 build"; fi
  command -v etcd >/dev/null && command -v openssl >/dev/null && command -v curl >/dev/null || {
    DEPS_LOG=$DIR/logs/deps.log
    deps_runtime
  }
  K8S_BIN=$BIN
  ETCD_BIN=$(command -v etcd)
  gen_pki

  # Reuse the previous ports when they are still free (keeps etcd data valid), else pick new ones.
  local reuse=0
  if [ -f "$STATE" ]; then
    . "$STATE"
    reuse=1
    for c in "$APISERVER_PORT" "$CM_PORT" "$ETCD_CLIENT_PORT" "$ETCD_PEER_PORT" "$ETCD_METRICS_PORT"; do
      port_free "$c" || reuse=0
    done
  fi
  if [ "$reuse" = 0 ]; then
    read -r APISERVER_PORT CM_PORT ETCD_CLIENT_PORT ETCD_PEER_PORT ETCD_METRICS_PORT < <(free_ports 5)
    rm -rf "$DIR/data/etcd"
  fi
  K8S_BIN=$BIN
  ETCD_BIN=$(command -v etcd)
  mkdir -p "$DIR/data"
  chmod 700 "$DIR/data"
  write_state
  write_kubeconfig "$DIR/admin.kubeconfig" admin "$PKI/admin.crt" "$PKI/admin.key"
  write_kubeconfig "$DIR/controller-manager.kubeconfig" system:kube-controller-manager \
    "$PKI/controller-manager.crt" "$PKI/controller-manager.key"
  write_env
  log "ports: apiserver=$APISERVER_PORT controller-manager=$CM_PORT etcd=$ETCD_CLIENT_PORT/$ETCD_PEER_PORT/$ETCD_METRICS_PORT"

  local failed=0
  start_etcd
  wait_healthy etcd || failed=1
  if [ "$failed" = 0 ]; then start_apiserver; wait_healthy kube-apiserver || failed=1; fi
  if [ "$failed" = 0 ]; then start_cm; wait_healthy kube-controller-manager || failed=1; fi
  if [ "$failed" != 0 ]; then
    for c in kube-controller-manager kube-apiserver etcd; do stop_proc "$c"; done
    die "control plane in $DIR failed to start (logs: $LOGS)"
  fi
  log "control plane $K8S_VERSION up in $(($(now) - t0))s (dir: $DIR)"
  cat "$DIR/env"
}

cmd_down() {
  set_dir "${1:-}"
  [ -d "$RUN" ] || { log "nothing running in $DIR"; return 0; }
  local c
  for c in kube-controller-manager kube-apiserver etcd; do stop_proc "$c"; done
}

cmd_env() {
  set_dir "${1:-}"
  [ -f "$DIR/env" ] || die "no $DIR/env (run: $0 up $DIR)"
  cat "$DIR/env"
}

cmd_status() {
  set_dir "${1:-}"
  load_state
  local c pid rc=0 state
  for c in etcd kube-apiserver kube-controller-manager; do
    if pid=$(pid_of "$c"); then
      if health "$c"; then state=healthy; else state=unhealthy; rc=1; fi
      printf '%-24s pid %-8s %s\n' "$c" "$pid" "$state"
    else
      printf '%-24s %-12s stopped\n' "$c" "-"
      rc=1
    fi
  done
  printf 'server: https://127.0.0.1:%s  kubeconfig: %s\n' "$APISERVER_PORT" "$DIR/admin.kubeconfig"
  return "$rc"
}

cmd_cm_stop() {
  set_dir "${1:-}"
  load_state
  stop_proc kube-controller-manager
}

cmd_cm_start() {
  set_dir "${1:-}"
  load_state
  if pid_of kube-controller-manager >/dev/null; then
    log "kube-controller-manager already running"
  else
    start_cm
  fi
  wait_healthy kube-controller-manager || die "kube-controller-manager failed to start"
}

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
  local verb=${1:-}
  [ $# -gt 0 ] && shift
  case $verb in
    deps) cmd_deps ;;
    build) cmd_build ;;
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    env) cmd_env "$@" ;;
    status) cmd_status "$@" ;;
    cm-stop) cmd_cm_stop "$@" ;;
    cm-start) cmd_cm_start "$@" ;;
    paths) printf 'cache=%s\nbin=%s\nbuild_log=%s\n' "$VDIR" "$BIN" "$BUILD_LOG" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
