#!/usr/bin/env bash
# The image and docker-compose.yml, for real: build, bring up, ask for a decision, check the user,
# Redis persistence and a draining stop, then tear everything down.
#
#   ../shared/tools/with-docker --node 24.21.0 --redis -- bash .ci/docker-smoke.sh
#
# CREDITGATE_PORT picks the host port (default 3000; another free one when 3000 is taken).
# SMOKE_TIMEOUT is the deadline in seconds for each wait (default 120).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
log() { echo "smoke: [$((SECONDS - start)) s] $*"; }
fail() {
  echo "smoke: FAILED: $*" >&2
  exit 1
}

command -v docker-compose >/dev/null || fail "docker-compose is missing: run me through ../shared/tools/with-docker"
docker info >/dev/null 2>&1 || fail "no Docker daemon at ${DOCKER_HOST:-the default socket}: run me through ../shared/tools/with-docker"

timeout=${SMOKE_TIMEOUT:-120}
project=creditgate-smoke-$$
image=creditgate:local
services=(creditgate redis sandbox)
tmp=$(mktemp -d)
dc() { docker-compose -p "$project" "$@"; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ -n "${CREDITGATE_PORT:-}" ]; then
  port_taken "$CREDITGATE_PORT" && fail "CREDITGATE_PORT=$CREDITGATE_PORT is taken on 127.0.0.1"
else
  CREDITGATE_PORT=3000
  if port_taken 3000; then
    CREDITGATE_PORT=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
    log "port 3000 is taken; using $CREDITGATE_PORT"
  fi
fi
export CREDITGATE_PORT
base=http://127.0.0.1:$CREDITGATE_PORT
auth='Authorization: Bearer demo-key-change-me-0123456789'

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" -ne 0 ]; then
    echo "smoke: --- state at failure ---" >&2
    dc ps >&2 || true
    dc logs --no-color --tail=60 >&2 || true
  fi
  log "tearing down (docker-compose down -v)"
  dc down -v --remove-orphans -t 5 >/dev/null 2>&1 || echo "smoke: docker-compose down failed" >&2
  rm -rf "$tmp"
  if [ "$rc" -eq 0 ]; then log "passed in $((SECONDS - start)) s"; else echo "smoke: failed after $((SECONDS - start)) s" >&2; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Polls a check every second until it passes or `timeout` seconds have gone by.
wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${timeout} s waiting for $what"
    sleep 1
  done
}

# Container ids by service, looked up once (docker-compose starts slowly; docker does not).
declare -A id
find_containers() {
  local s
  for s in "${services[@]}"; do
    id[$s]=$(dc ps -q "$s")
    [ -n "${id[$s]}" ] || fail "no container for $s"
  done
}
all_healthy() {
  local s
  for s in "${services[@]}"; do
    [ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "${id[$s]}")" = healthy ] || return 1
  done
}

# A decision through the compose demo key: status and body must match.
decide() { # contact_id expected_decision
  local code
  code=$(curl -sS -o "$tmp/body" -w '%{http_code}' -H "$auth" "$base/contacts/$1/risk") || fail "GET /contacts/$1/risk: no answer"
  [ "$code" = 200 ] || fail "GET /contacts/$1/risk answered $code: $(cat "$tmp/body")"
  grep -q "\"decision\":\"$2\"" "$tmp/body" || fail "GET /contacts/$1/risk: expected decision $2, got $(cat "$tmp/body")"
}
redis_cli() { docker exec "${id[redis]}" redis-cli "$@"; }
sandbox_api() { # path [json body]: the sandbox's control surface, from inside its container
  docker exec "${id[sandbox]}" node -e "
    const [path, body] = process.argv.slice(1)
    const init = body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body } : {}
    fetch('http://127.0.0.1:4555' + path, init).then(async (r) => { if (!r.ok) process.exit(1); console.log(await r.text()) }, () => process.exit(1))
  " "$@"
}

step=$SECONDS
log "building the image (docker-compose build)"
dc build
log "built in $((SECONDS - step)) s"

step=$SECONDS
log "starting creditgate, redis and the sandbox on port $CREDITGATE_PORT"
dc up -d --no-build
find_containers
wait_for "every service to be healthy" all_healthy
log "every service healthy in $((SECONDS - step)) s"

decide 460000000026049 block
log "decision through the demo key: 200 block"

# The credit console's files are in the image: the page, its script and uPlot's bundle.
for path in /console /console/console.js /console/uplot.js; do
  code=$(curl -sS -o /dev/null -w '%{http_code}' "$base$path") || fail "GET $path: no answer"
  [ "$code" = 200 ] || fail "GET $path answered $code"
done
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ops-key-change-me-0123456789" "$base/contacts/460000000031013/receivables")
[ "$code" = 200 ] || fail "GET /contacts/460000000031013/receivables with the demo admin key answered $code"
log "the console and its files are served"

cg=${id[creditgate]}
uid=$(docker exec "$cg" id -u)
[ "$uid" != 0 ] || fail "creditgate runs as root"
log "creditgate runs as uid $uid ($(docker exec "$cg" id -un))"

# Redis: AOF keeps a write across a restart, and the named volume across a new container.
key=creditgate:smoke:$$
[ "$(redis_cli SET "$key" kept)" = OK ] || fail "redis-cli SET failed"
[ "$(redis_cli CONFIG GET appendonly | tail -1)" = yes ] || fail "Redis runs without appendonly"
keys_before=$(redis_cli DBSIZE)
dc restart -t 10 redis >/dev/null
wait_for "redis to be healthy after a restart" all_healthy
[ "$(redis_cli GET "$key")" = kept ] || fail "Redis lost $key across a restart"
log "Redis kept its data across a restart ($keys_before keys before, $(redis_cli DBSIZE) after)"
dc up -d --no-deps --force-recreate redis >/dev/null 2>&1
find_containers
wait_for "redis to be healthy in a new container" all_healthy
[ "$(redis_cli GET "$key")" = kept ] || fail "Redis lost $key in a new container (volume)"
log "Redis kept its data in a new container (named volume)"
decide 460000000026049 block
log "decision after the Redis restarts: 200 block"

# A draining stop: a decision in flight (the sandbox answers after 3 s) still gets its answer,
# and the container exits 0 within its grace period.
grace=15
calls_before=$(sandbox_api /__sandbox/stats | sed -n 's/.*"contact_calls":\([0-9]*\).*/\1/p')
sandbox_api /__sandbox/faults '{"latency_ms":3000}' >/dev/null
curl -sS -o "$tmp/inflight" -w '%{http_code}' -H "$auth" "$base/contacts/460000000031001/risk" >"$tmp/inflight.code" 2>&1 &
curl_pid=$!
in_flight() { [ "$(sandbox_api /__sandbox/stats | sed -n 's/.*"contact_calls":\([0-9]*\).*/\1/p')" -gt "$calls_before" ]; }
wait_for "a decision to be in flight" in_flight
kill -0 "$curl_pid" 2>/dev/null || fail "the decision finished before docker stop: nothing was in flight to drain"
step=$SECONDS
docker stop -t "$grace" "$cg" >/dev/null
took=$((SECONDS - step))
wait "$curl_pid" || fail "the decision in flight during docker stop failed: $(cat "$tmp/inflight.code")"
[ "$(cat "$tmp/inflight.code")" = 200 ] || fail "the decision in flight during docker stop answered $(cat "$tmp/inflight.code")"
grep -q '"decision":"allow"' "$tmp/inflight" || fail "the decision in flight: $(cat "$tmp/inflight")"
exit_code=$(docker inspect -f '{{.State.ExitCode}}' "$cg")
[ "$exit_code" = 0 ] || fail "creditgate exited $exit_code on docker stop"
[ "$took" -lt "$grace" ] || fail "docker stop took $took s, the grace period is $grace s"
# (to a file first: `docker logs | grep -q` fails under pipefail when grep stops reading early)
docker logs "$cg" >"$tmp/creditgate.log" 2>&1
grep -q 'draining in-flight requests' "$tmp/creditgate.log" || fail "no 'draining' line in the creditgate log"
log "docker stop drained a decision in flight and exited 0 in $took s (grace $grace s)"

size=$(docker image inspect -f '{{.Size}}' "$image")
log "image $image: $((size / 1000000)) MB ($size bytes)"
