#!/usr/bin/env bash
# Installs berth-agent as a systemd service from a build tree:
#   packaging/install-agent.sh [BUILD_DIR]   (default: build)
# Copies berth-agent, berth-shim and berth-shim-monitor to /usr/local/bin
# (they must sit together), the unit to /etc/systemd/system, and the example
# configuration to /etc/berth/agent.yaml unless one exists. Does not start
# the service: edit network.podCIDR first, then `systemctl enable --now
# berth-agent`.
set -euo pipefail
build=${1:-$(dirname "$0")/../build}
[[ $(id -u) -eq 0 ]] || { echo "install-agent: run as root" >&2; exit 1; }
for b in berth-agent berth-shim berth-shim-monitor; do
  [[ -x $build/nodeagent/$b ]] || { echo "install-agent: $build/nodeagent/$b missing: build first" >&2; exit 1; }
  install -m 0755 "$build/nodeagent/$b" /usr/local/bin/$b
done
install -m 0644 "$(dirname "$0")/systemd/berth-agent.service" /etc/systemd/system/berth-agent.service
install -d -m 0755 /etc/berth /etc/berth/pods /etc/berth/configmaps
install -d -m 0700 /etc/berth/secrets
[[ -e /etc/berth/agent.yaml ]] || install -m 0644 "$(dirname "$0")/../examples/agent/agent.yaml" /etc/berth/agent.yaml
systemctl daemon-reload
echo "installed; edit /etc/berth/agent.yaml, then: systemctl enable --now berth-agent"
