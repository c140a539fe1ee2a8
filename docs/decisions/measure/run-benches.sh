#!/bin/bash
# Runs bench.mjs headers and ratelimit three times each, alternating, logging the load average.
export PATH=/work/main/node_modules/.bin:$PATH
cd "$(dirname "$0")"
for i in 1 2 3; do
  for g in headers ratelimit; do
    { echo "start: $(uptime)"; timeout 400 node bench.mjs $g; echo "end: $(uptime)"; } > bench-$g.$i.out 2>&1
  done
done
