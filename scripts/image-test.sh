#!/usr/bin/env bash
# `make image-test`: builds the real apps/Dockerfile with podman and proves the images work, with no
# container registry: the FROM images (build args SDK_IMAGE and RUNTIME_IMAGE) are local stand-ins,
# a debootstrapped Debian bookworm minbase plus this machine's own .NET SDK / runtimes
# (deploy/image-test/). The build is offline (--network none): NuGet restores from the host's NuGet
# package cache, mounted read-only as the only feed.
#
# Then, against a PostgreSQL and a Redis it starts on loopback (containers use the host network):
#   migrator  runs once, exit code 0;
#   api       non-root (image USER 1654), read-only root filesystem + tmpfs /tmp, all capabilities
#             dropped; /readyz 200, /version = the git SHA given as GIT_SHA, POST /api/links then
#             GET /{code} = 302; the image's HEALTHCHECK command passes; `podman stop -t 30`
#             (SIGTERM) drains (/readyz 503, "Draining" logged) and exits with code 0;
#   worker    same hardening, /readyz 200, clean stop.
# Prints the build times, image sizes and the API image's layers; last line "N passed, N failed".
# Everything it starts (containers, PostgreSQL, Redis) is stopped on exit, even on failure.
#
# Usage: scripts/image-test.sh [--clean]   (--clean: remove the images and the cached base, then exit)
# Environment (all optional):
#   IMAGE_TEST_CACHE    cache of the debootstrap rootfs tarball and build logs
#                       (default /var/cache/shortener-image-test as root, else ~/.cache/shortener-image-test)
#   IMAGE_TEST_MIRROR   Debian mirror for debootstrap (default: the one apt uses on this machine)
#   IMAGE_TEST_REBASE=1 rebuild the base rootfs (debootstrap again) instead of using the cached one
#   NUGET_PACKAGES      the host's NuGet global packages folder (default ~/.nuget/packages)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

base_image=localhost/shortener-image-test/base:bookworm
tag="image-test"
cache=${IMAGE_TEST_CACHE:-$([ "$(id -u)" = 0 ] && echo /var/cache/shortener-image-test || echo "${XDG_CACHE_HOME:-$HOME/.cache}/shortener-image-test")}
base_tar=$cache/bookworm-minbase.tar

passed=0; failed=0
pass() { passed=$((passed + 1)); echo "ok     $*"; }
fail() { failed=$((failed + 1)); echo "FAIL   $*"; }
# check OK-MESSAGE FAIL-MESSAGE COMMAND...: one check, passed when COMMAND succeeds.
check() { local ok=$1 ko=$2; shift 2; if "$@"; then pass "$ok"; else fail "$ko"; fi; }
contains() { [[ $1 == *"$2"* ]]; }
summary() { echo "$passed passed, $failed failed"; }
# Fatal: counts one failure, prints the summary, exits (the EXIT trap cleans up).
die() { fail "$*"; summary; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
declare -A timing=()
began=$(now)

if [ "${1:-}" = --clean ]; then
  for image in $(podman image ls --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/shortener(-image-test)?/'); do
    podman rmi "$image" >/dev/null || true
  done
  rm -rf "$cache"
  echo "Removed the image-test images and $cache (untagged build layers remain: 'podman image prune' removes them)"
  exit 0
fi

# ---------------------------------------------------------------- prerequisites
# podman + runc run the containers, debootstrap builds the base; PostgreSQL, Redis and curl test them; the
# host's .NET SDK and runtimes go into the stand-in images.
scripts/prerequisites.sh image-test || die "prerequisites missing (see above)"

# podman on these machines (no systemd, cgroup v1, no crun) needs its own engine settings: a project file,
# never an edit of the machine's /etc/containers/containers.conf.
export CONTAINERS_CONF="$PWD/scripts/podman/containers.conf"
if ! podman info >/dev/null 2>&1; then
  echo "podman is installed but does not work for this user:" >&2
  podman info 2>&1 | tail -n 3 >&2
  if [ "$(id -u)" != 0 ]; then
    echo "Run as root, or configure rootless podman (subuid/subgid); engine settings: $CONTAINERS_CONF" >&2
  fi
  die "podman is not usable"
fi

mkdir -p "$cache/logs" || die "cannot create the cache directory $cache"
logs=$cache/logs
rm -f "$logs"/*.log

# ---------------------------------------------------------------- cleanup (runs on every exit)
work=$(mktemp -d /tmp/image-test.XXXXXX)
chmod 755 "$work" # PostgreSQL runs as the postgres user and must traverse it.
suffix=$$
containers=(); pids=(); stopper=
cleanup() {
  local c p
  for c in "${containers[@]}"; do podman rm -f -t 0 "$c" >/dev/null 2>&1 || true; done
  [ -z "$stopper" ] || wait "$stopper" 2>/dev/null
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "Interrupted"; exit 130' INT TERM

# Shows the end of a log after a failure.
show() { echo "------ last lines of $1"; tail -n "${2:-25}" "$1" | sed 's/^/  | /'; echo "------"; }

# ---------------------------------------------------------------- base image (cached)
# Debian mirror: the one apt uses on this machine (deb822 "URIs:" or one-line "deb URL bookworm").
mirror() {
  local uri
  uri=$(grep -hE '^[[:space:]]*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' \
        | grep -E '/debian/?$' | grep -v security | head -n 1)
  [ -n "$uri" ] || uri=$(grep -hE '^[[:space:]]*deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
        | grep -vE '\[.*\]' | awk '$3 ~ /^bookworm$/ {print $2}' | head -n 1)
  echo "${IMAGE_TEST_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

echo "== Base image ($base_image)"
start=$(now)
if [ "${IMAGE_TEST_REBASE:-0}" = 1 ]; then
  podman rmi -f "$base_image" >/dev/null 2>&1 || true
  rm -f "$base_tar"
fi
if podman image exists "$base_image"; then
  echo "cached in podman's store"
else
  if [ ! -s "$base_tar" ]; then
    [ "$(id -u)" = 0 ] || die "building the base image needs root (debootstrap): run as root, e.g. sudo make image-test"
    have debootstrap || die "debootstrap is not installed"
    url=$(mirror)
    echo "debootstrap --variant=minbase bookworm from $url (once; cached as $base_tar)"
    rootfs=$cache/rootfs.partial
    rm -rf "$rootfs"
    # Runtime needs of .NET beyond minbase (libc6, libgcc-s1, libstdc++6, zlib1g): TLS and time zones.
    if ! debootstrap --variant=minbase --include=ca-certificates,libssl3,tzdata bookworm "$rootfs" "$url" \
        >"$logs/debootstrap.log" 2>&1; then
      show "$logs/debootstrap.log"
      rm -rf "$rootfs"
      die "debootstrap failed"
    fi
    # Package caches and lists are of no use in an image without apt access.
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/lib/apt/lists/* \
           "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/root/.bash_history
    tar --numeric-owner --xattrs -C "$rootfs" -cf "$base_tar.partial" . && mv "$base_tar.partial" "$base_tar"
    rm -rf "$rootfs"
    [ -s "$base_tar" ] || die "could not archive the base rootfs"
  fi
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["/bin/bash"]' --message "debootstrap --variant=minbase bookworm" \
      "$base_tar" "$base_image" >"$logs/import.log" 2>&1 || { show "$logs/import.log"; die "podman import of the base failed"; }
fi
timing[base]=$(elapsed "$start")
pass "base image $base_image (${timing[base]} s)"

# ---------------------------------------------------------------- stand-in SDK and runtime images
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
sdk_version=$(cd / && dotnet --version)
runtime_version() { dotnet --list-runtimes | awk -v n="$1" '$1 == n && $2 ~ /^10\./ {print $2}' | sort -V | tail -n 1; }
dotnet_version=$(runtime_version Microsoft.NETCore.App)
aspnet_version=$(runtime_version Microsoft.AspNetCore.App)
{ [ -n "$dotnet_version" ] && [ -n "$aspnet_version" ]; } \
  || die "no .NET 10 and ASP.NET Core 10 runtimes found on the host"
sdk_image=localhost/shortener-image-test/sdk:$sdk_version
runtime_image=localhost/shortener-image-test/runtime:$aspnet_version

echo "== Stand-in images (host .NET SDK $sdk_version, runtimes $dotnet_version / $aspnet_version from $dotnet_root)"
start=$(now)
podman build --format docker --network none -v "$dotnet_root:/host-dotnet:ro" \
    --build-arg BASE_IMAGE="$base_image" --build-arg DOTNET_SDK_VERSION="$sdk_version" \
    -f deploy/image-test/sdk.Containerfile -t "$sdk_image" deploy/image-test >"$logs/sdk.log" 2>&1 \
  || { show "$logs/sdk.log"; die "stand-in SDK image build failed"; }
podman build --format docker --network none -v "$dotnet_root:/host-dotnet:ro" \
    --build-arg BASE_IMAGE="$base_image" --build-arg DOTNET_VERSION="$dotnet_version" --build-arg ASPNET_VERSION="$aspnet_version" \
    -f deploy/image-test/runtime.Containerfile -t "$runtime_image" deploy/image-test >"$logs/runtime.log" 2>&1 \
  || { show "$logs/runtime.log"; die "stand-in runtime image build failed"; }
timing[standins]=$(elapsed "$start")
pass "stand-in images $sdk_image and $runtime_image (${timing[standins]} s)"

# ---------------------------------------------------------------- the real Dockerfile
feed=${NUGET_PACKAGES:-$HOME/.nuget/packages}
[ -d "$feed" ] || die "no NuGet package cache at $feed: run 'dotnet restore apps/Shortener.slnx' on the host once"
git_sha=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# The commit date, not the current time: the same commit gives the same build args, so the cached
# publish layers are reused on the next run.
build_date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo "")
echo "== apps/Dockerfile (GIT_SHA=$git_sha, offline restore from $feed)"
for target in api worker migrator console; do
  start=$(now)
  previous=$(podman image inspect --format '{{.Id}}' "localhost/shortener/$target:$tag" 2>/dev/null)
  if podman build --format docker --network none -v "$feed:/nuget-feed:ro" \
      -f apps/Dockerfile --target "$target" \
      --build-arg SDK_IMAGE="$sdk_image" --build-arg RUNTIME_IMAGE="$runtime_image" \
      --build-arg GIT_SHA="$git_sha" --build-arg BUILD_DATE="$build_date" \
      -t "localhost/shortener/$target:$tag" . >"$logs/build-$target.log" 2>&1; then
    timing[$target]=$(elapsed "$start")
    pass "build --target $target (${timing[$target]} s)"
    # A rebuild leaves the previous image untagged: remove it (only if nothing else tags it), so
    # repeated runs do not pile up images.
    if [ -n "$previous" ] && [ "$(podman image inspect --format '{{len .RepoTags}}' "$previous" 2>/dev/null)" = 0 ]; then
      podman rmi "$previous" >/dev/null 2>&1 || true
    fi
  else
    timing[$target]=$(elapsed "$start")
    show "$logs/build-$target.log" 40
    grep -q 'NU1101\|NU1102\|NU1301' "$logs/build-$target.log" \
      && echo "A package is missing from $feed: run 'dotnet restore apps/Shortener.slnx' on the host, then retry."
    die "build --target $target failed"
  fi
done

# Image metadata: non-root user, healthcheck (kept only with --format docker), the build's SHA.
for target in api worker migrator console; do
  user=$(podman image inspect --format '{{.Config.User}}' "localhost/shortener/$target:$tag")
  check "$target image: Config.User is 1654" "$target image: Config.User is '$user', expected 1654" [ "$user" = 1654 ]
done
for target in api worker console; do
  health=$(podman image inspect --format '{{if .Config.Healthcheck}}{{join .Config.Healthcheck.Test " "}}{{end}}' "localhost/shortener/$target:$tag")
  check "$target image: HEALTHCHECK kept" "$target image: no HEALTHCHECK in the image config" contains "$health" /livez
done
revision=$(podman image inspect --format '{{index .Config.Labels "org.opencontainers.image.revision"}}' "localhost/shortener/api:$tag")
check "api image: revision label is the git SHA" "api image: revision label is '$revision'" [ "$revision" = "$git_sha" ]

# ---------------------------------------------------------------- PostgreSQL and Redis on loopback
# A port below the kernel's ephemeral range (so no outgoing connection can be holding it) that no
# TCP socket uses, listening or not.
free_port() {
  local low port used
  low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  used=$(awk 'NR > 1 { split($2, a, ":"); print a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null)
  while :; do
    port=$((15000 + RANDOM % (low - 15000)))
    grep -qx "$(printf '%04X' "$port")" <<<"$used" || { echo "$port"; return; }
  done
}
wait_for() { # seconds command...: retries every 0.2 s
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}
pg_port=$(free_port); redis_port=$(free_port)
while [ "$redis_port" = "$pg_port" ]; do redis_port=$(free_port); done

echo "== PostgreSQL 127.0.0.1:$pg_port, Redis 127.0.0.1:$redis_port"
scripts/postgres.sh "$work/pg" "$pg_port" -c fsync=off >"$logs/postgres.log" 2>&1 &
pids+=($!)
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$logs/redis.log" 2>&1 &
pids+=($!)
pg_isready=$(printf '%s\n' /usr/lib/postgresql/*/bin/pg_isready | sort -V | tail -n 1)
wait_for 60 "$pg_isready" -q -h 127.0.0.1 -p "$pg_port" || { show "$logs/postgres.log"; die "PostgreSQL did not start"; }
wait_for 10 redis-cli -p "$redis_port" ping || { show "$logs/redis.log"; die "Redis did not start"; }

pg="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=shortener"
# As deploy/compose runs them: read-only root, tmpfs /tmp, no capabilities, no privilege gain.
hardening=(--network host --read-only --tmpfs /tmp:size=64m --cap-drop ALL --security-opt no-new-privileges)

# ---------------------------------------------------------------- migrator
echo "== migrator"
name=image-test-migrator-$suffix; containers+=("$name")
start=$(now)
podman run --name "$name" "${hardening[@]}" \
  -e ConnectionStrings__postgres="$pg" -e Migrations__CreateDatabase=true \
  "localhost/shortener/migrator:$tag" >"$logs/migrator.log" 2>&1
code=$?
if [ "$code" = 0 ]; then pass "migrator exited 0 ($(elapsed "$start") s)"; else show "$logs/migrator.log"; fail "migrator exited $code"; fi

# ---------------------------------------------------------------- api and worker
http() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
ready() { [ "$(http "$1/readyz")" = 200 ]; }
# wait_ready NAME URL: until /readyz answers 200 (60 s at most), or the container has exited.
wait_ready() {
  local deadline=$((SECONDS + 60))
  until ready "$2"; do
    [ "$(podman inspect --format '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || return 1
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.2
  done
}

# start_service TARGET PORT [extra -e ...]: runs the image hardened, on 127.0.0.1:PORT.
start_service() {
  local target=$1 port=$2; shift 2
  local name=image-test-$target-$suffix
  containers+=("$name")
  # Loopback only: ASPNETCORE_URLS, with the image's ASPNETCORE_HTTP_PORTS emptied (no override warning).
  # podman's stderr goes to a log: without systemd it complains that it cannot schedule the HEALTHCHECK.
  podman run -d --name "$name" "${hardening[@]}" --memory 512m \
    -e ASPNETCORE_HTTP_PORTS= -e ASPNETCORE_URLS="http://127.0.0.1:$port" \
    -e ConnectionStrings__postgres="$pg" -e ConnectionStrings__redis="127.0.0.1:$redis_port" \
    "$@" "localhost/shortener/$target:$tag" >"$logs/$target-run.log" 2>&1
}

# common_checks TARGET PORT: the running container is non-root, read-only, healthy by its own HEALTHCHECK.
common_checks() {
  local target=$1 port=$2 name=image-test-$1-$suffix uid ro test
  uid=$(podman exec "$name" id -u 2>&1)
  check "$target: runs as UID 1654 (id -u)" "$target: id -u is '$uid'" [ "$uid" = 1654 ]
  ro=$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$name")
  # /home/app belongs to the app user: only the read-only mount can refuse the write. /tmp is the tmpfs.
  if [ "$ro" = true ] && ! podman exec "$name" touch /home/app/probe 2>/dev/null \
      && podman exec "$name" touch /tmp/probe; then
    pass "$target: root filesystem is read-only, /tmp writable"
  else
    fail "$target: root filesystem writable or /tmp not (ReadonlyRootfs=$ro)"
  fi
  # The image's HEALTHCHECK command, run as-is except for the port (the host network is shared, so
  # the service listens on a free port rather than on the image's default).
  test=$(podman image inspect --format '{{index .Config.Healthcheck.Test 3}}' "localhost/shortener/$target:$tag" 2>/dev/null)
  if [ -n "$test" ] && podman exec "$name" bash -c "${test//127.0.0.1\/808[01]/127.0.0.1/$port}"; then
    pass "$target: the image's HEALTHCHECK command passes"
  else
    fail "$target: the image's HEALTHCHECK command fails"
  fi
}

# stop_service TARGET PORT: SIGTERM via podman stop -t 30; drains, then exits 0.
stop_service() {
  local target=$1 port=$2 name=image-test-$1-$suffix started code saw503=no
  started=$(now)
  podman stop -t 30 "$name" >/dev/null 2>&1 &
  stopper=$!
  for _ in $(seq 1 50); do
    [ "$(http "http://127.0.0.1:$port/readyz")" = 503 ] && { saw503=yes; break; }
    sleep 0.1
  done
  wait "$stopper"
  stopper=
  local took; took=$(elapsed "$started")
  podman logs "$name" >"$logs/$target.log" 2>&1
  code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
  if [ "$code" = 0 ]; then
    pass "$target: podman stop (SIGTERM) -> exit code 0 after $took s"
  else
    show "$logs/$target.log"
    fail "$target: exit code $code after podman stop ($took s)"
  fi
  if grep -q 'Draining\|Shutdown requested: readiness is now failing' "$logs/$target.log"; then
    pass "$target: logged the Draining event"
  else
    fail "$target: no Draining event in its logs"
  fi
  check "$target: /readyz answered 503 while draining" "$target: /readyz never answered 503 during the drain" [ "$saw503" = yes ]
}

echo "== api"
api_port=$(free_port)
api=http://127.0.0.1:$api_port
key=$(head -c 4096 /dev/urandom | tr -dc 'A-Za-z0-9' | head -c 40)
start=$(now)
if start_service api "$api_port" -e Auth__BootstrapApiKey="$key" && wait_ready "image-test-api-$suffix" "$api"; then
  pass "api: /readyz 200 ($(elapsed "$start") s after podman run)"
  common_checks api "$api_port"
  version=$(curl -s --max-time 5 "$api/version")
  check "api: /version reports GIT_SHA $git_sha" "api: /version is $version" contains "$version" "\"gitSha\":\"$git_sha\""
  created=$(curl -s --max-time 5 -w '\n%{http_code}' -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
            -d '{"url":"https://example.com"}' "$api/api/links")
  code=$(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' <<<"$created" | head -n 1)
  if [ "$(tail -n 1 <<<"$created")" = 201 ] && [ -n "$code" ]; then
    pass "api: POST /api/links -> 201, code $code"
    # No -L: the redirect itself is the answer.
    redirect=$(curl -s -o /dev/null --max-time 5 -w '%{http_code} %{redirect_url}' "$api/$code")
    check "api: GET /$code -> $redirect" "api: GET /$code -> $redirect (expected 302 to https://example.com)" \
      contains "$redirect" "302 https://example.com"
  else
    fail "api: POST /api/links -> $created"
    fail "api: no code to redirect"
  fi
  stop_service api "$api_port"
else
  podman logs "image-test-api-$suffix" >"$logs/api.log" 2>&1
  show "$logs/api-run.log" 5
  show "$logs/api.log"
  fail "api: not ready (exited, or not within 60 s)"
fi

echo "== worker"
worker_port=$(free_port)
start=$(now)
if start_service worker "$worker_port" && wait_ready "image-test-worker-$suffix" "http://127.0.0.1:$worker_port"; then
  pass "worker: /readyz 200 ($(elapsed "$start") s after podman run)"
  common_checks worker "$worker_port"
  stop_service worker "$worker_port"
else
  podman logs "image-test-worker-$suffix" >"$logs/worker.log" 2>&1
  show "$logs/worker-run.log" 5
  show "$logs/worker.log"
  fail "worker: not ready (exited, or not within 60 s)"
fi

echo "== console"
# csp_ok RESPONSE CSP: a 200 whose policy allows scripts from the site only, never inline ones.
csp_ok() { [[ $1 == "HTTP/1.1 200"* && $2 == *"script-src 'self'"* && $2 != *unsafe-inline* ]]; }
console_port=$(free_port)
start=$(now)
# Its API (the step above) is stopped by now: the console is ready without it, only sign-in needs it.
if start_service console "$console_port" -e Console__ApiBaseUrl="$api" && wait_ready "image-test-console-$suffix" "http://127.0.0.1:$console_port"; then
  pass "console: /readyz 200 ($(elapsed "$start") s after podman run)"
  common_checks console "$console_port"
  signin=$(curl -s --max-time 5 -D - -o /dev/null "http://127.0.0.1:$console_port/signin")
  csp=$(grep -i '^content-security-policy:' <<<"$signin")
  check "console: GET /signin -> 200, CSP without unsafe-inline" "console: GET /signin -> $(head -n 1 <<<"$signin") $csp" \
    csp_ok "$signin" "$csp"
  stop_service console "$console_port"
else
  podman logs "image-test-console-$suffix" >"$logs/console.log" 2>&1
  show "$logs/console-run.log" 5
  show "$logs/console.log"
  fail "console: not ready (exited, or not within 60 s)"
fi

# ---------------------------------------------------------------- report
echo "== Build times (s): base ${timing[base]}, stand-ins ${timing[standins]}, api ${timing[api]}, worker ${timing[worker]}, migrator ${timing[migrator]}, console ${timing[console]}"
echo "== Images"
podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^localhost/shortener(-image-test)?/" | sort \
  | awk '{ name = $1; $1 = ""; printf "  %-52s %s\n", name, $0 }'
echo "== Layers of localhost/shortener/api:$tag"
podman history --no-trunc --format '{{.Size}}@@{{.CreatedBy}}' "localhost/shortener/api:$tag" \
  | awk -F'@@' '{ sub(/^\|[0-9]+ .* \/bin\/sh -c /, "RUN ", $2); sub(/^\/bin\/sh -c #\(nop\) /, "", $2);
                 printf "  %9s  %s\n", $1, substr($2, 1, 110) }'
echo "Logs: $logs ($(elapsed "$began") s in all)"
summary
[ "$failed" -eq 0 ]
