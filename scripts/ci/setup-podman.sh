#!/usr/bin/env bash
# Installs podman (with runc) and builds the tiny local test image `localhost/busybox:test`, so the
# container executor can be tested for real on a machine without a Docker engine or a registry.
#
# Idempotent and fast when everything is already there. Needs root (or passwordless sudo) to install
# packages. Exits non-zero with a clear message when something cannot be set up.
#
# Prints the environment the tests and a runner need (also written to $NW_CI_DIR/podman.env):
#   CONTAINERS_CONF=<dir>/containers.conf
#   NODEWORKS_TEST_CONTAINER_COMMAND=podman
#   NODEWORKS_TEST_CONTAINER_ARGS="--runtime=runc --storage-driver=vfs --cgroup-manager=cgroupfs"
#   NODEWORKS_TEST_CONTAINER_IMAGE=localhost/busybox:test
#
# Usage: scripts/ci/setup-podman.sh            (source the printed lines, or the env file)
#        eval "$(scripts/ci/setup-podman.sh --env)"   (only the export lines on stdout)
set -euo pipefail

NW_CI_DIR="${NW_CI_DIR:-/var/lib/nodeworks-ci}"
IMAGE="${NODEWORKS_TEST_CONTAINER_IMAGE:-localhost/busybox:test}"
MARKER_PATH="/etc/nodeworks-test-image"
MARKER_TEXT="nodeworks-test-image busybox"
GLOBAL_ARGS=(--runtime=runc --storage-driver=vfs --cgroup-manager=cgroupfs)

ENV_ONLY=0
[ "${1:-}" = "--env" ] && ENV_ONLY=1

say() { if [ "$ENV_ONLY" = 1 ]; then echo "setup-podman: $*" >&2; else echo "setup-podman: $*"; fi; }
die() { echo "setup-podman: ERROR: $*" >&2; exit 1; }
trap 'die "unexpected failure at line $LINENO (exit status $?)"' ERR

SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    fi
fi

need_pkgs=()
command -v podman >/dev/null 2>&1 || need_pkgs+=(podman)
command -v runc >/dev/null 2>&1 || need_pkgs+=(runc)
[ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || need_pkgs+=(busybox-static)
if [ -n "${need_pkgs[*]:-}" ]; then
    if [ "$(id -u)" != 0 ] && [ -z "$SUDO" ]; then
        die "missing ${need_pkgs[*]} and not root (no passwordless sudo): cannot install them"
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing ${need_pkgs[*]} and no apt-get to install them with"
    say "installing ${need_pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -q >&2 || die "apt-get update failed"
    $SUDO apt-get install -y -q --no-install-recommends podman runc busybox-static >&2 \
        || die "apt-get install podman runc busybox-static failed"
fi
command -v podman >/dev/null 2>&1 || die "podman is not on PATH after installation"
command -v runc >/dev/null 2>&1 || die "runc is not on PATH after installation"

BUSYBOX=""
for candidate in /bin/busybox /usr/bin/busybox; do
    if [ -x "$candidate" ]; then BUSYBOX="$candidate"; break; fi
done
[ -n "$BUSYBOX" ] || die "no busybox binary found (busybox-static)"
# The image has no libraries: the busybox in it must be statically linked.
if command -v ldd >/dev/null 2>&1 && ldd "$BUSYBOX" 2>&1 | grep -q '=>'; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi

$SUDO mkdir -p "$NW_CI_DIR"
CONF="$NW_CI_DIR/containers.conf"
want_conf=$'[containers]\ndefault_ulimits = []'
if [ "$(cat "$CONF" 2>/dev/null)" != "$want_conf" ]; then
    say "writing $CONF"
    printf '%s\n' "$want_conf" | $SUDO tee "$CONF" >/dev/null
fi
export CONTAINERS_CONF="$CONF"

podman_() { $SUDO env CONTAINERS_CONF="$CONF" podman "${GLOBAL_ARGS[@]}" "$@"; }

if podman_ image exists "$IMAGE" 2>/dev/null; then
    say "image $IMAGE already exists"
else
    say "building image $IMAGE from $BUSYBOX"
    build="$(mktemp -d)"
    trap 'rm -rf "$build"' EXIT
    mkdir -p "$build/rootfs/bin" "$build/rootfs/etc" "$build/rootfs/tmp" "$build/rootfs/proc" \
        "$build/rootfs/sys" "$build/rootfs/dev" "$build/rootfs/root"
    chmod 1777 "$build/rootfs/tmp"
    cp "$BUSYBOX" "$build/rootfs/bin/busybox"
    for applet in sh echo cat ls env id hostname sleep wget ip ifconfig true false pwd printf test grep \
        head tail wc mkdir rm touch uname date ps kill; do
        ln -s busybox "$build/rootfs/bin/$applet"
    done
    printf '%s\n' "$MARKER_TEXT" > "$build/rootfs$MARKER_PATH"
    echo 'root:x:0:0:root:/root:/bin/sh' > "$build/rootfs/etc/passwd"
    echo 'root:x:0:' > "$build/rootfs/etc/group"
    tar cf "$build/rootfs.tar" -C "$build/rootfs" .
    podman_ import --change 'ENV PATH=/bin' "$build/rootfs.tar" "$IMAGE" >&2 \
        || die "podman import of $IMAGE failed"
fi

# Smoke test: a real container runs, without network, and sees the marker file.
out="$(podman_ run --rm --network=none "$IMAGE" /bin/cat "$MARKER_PATH" 2>&1)" \
    || die "podman cannot run a container: $out"
[ "$out" = "$MARKER_TEXT" ] || die "unexpected output from the test container: $out"
say "podman runs containers ($IMAGE ok)"

ENV_FILE="$NW_CI_DIR/podman.env"
env_lines="export CONTAINERS_CONF=$CONF
export NODEWORKS_TEST_CONTAINER_COMMAND=podman
export NODEWORKS_TEST_CONTAINER_ARGS=\"${GLOBAL_ARGS[*]}\"
export NODEWORKS_TEST_CONTAINER_IMAGE=$IMAGE"
if [ "$(cat "$ENV_FILE" 2>/dev/null)" != "$env_lines" ]; then
    printf '%s\n' "$env_lines" | $SUDO tee "$ENV_FILE" >/dev/null
fi
if [ "$ENV_ONLY" = 1 ]; then
    echo "$env_lines"
else
    echo "setup-podman: use these settings (also in $ENV_FILE):"
    echo "$env_lines"
    echo "setup-podman: runner config: container_command=podman container_global_args=[${GLOBAL_ARGS[*]}]"
fi
