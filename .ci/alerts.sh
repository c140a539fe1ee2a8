#!/usr/bin/env bash
# The Prometheus alerting rules: promtool check rules, then their unit tests (promtool test rules).
# promtool comes with Debian's prometheus package, installed here when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v promtool >/dev/null 2>&1; then
  echo "alerts: installing Debian's prometheus package for promtool"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  # The package enables a Prometheus server; where no policy-rc.d kept it from starting, stop it:
  # CI needs promtool only.
  if [ ! -x /usr/sbin/policy-rc.d ] && [ -x /etc/init.d/prometheus ]; then
    /etc/init.d/prometheus stop >/dev/null 2>&1 || true
  fi
fi

promtool check rules ops/prometheus/alerts.yml
promtool test rules ops/prometheus/alerts.test.yml
