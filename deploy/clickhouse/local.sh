#!/usr/bin/env bash
# Finds or starts a local ClickHouse for `make run`:
#   local.sh start   use a server already answering on VIGIL_CH_TCP_PORT, or start one with a
#                    project-local config and data dir (installing Debian's clickhouse-server if
#                    it is missing and apt-get is available)
#   local.sh stop    stop the server this script started (a server it found is left alone)
#   local.sh status  say whether a server answers
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${VIGIL_CH_DIR:-$root/.vigil/clickhouse}
tcp=${VIGIL_CH_TCP_PORT:-9000}
http=${VIGIL_CH_HTTP_PORT:-8123}
pidfile=$dir/server.pid

say() { printf 'clickhouse: %s\n' "$*" >&2; }

answering() { curl -sf "http://127.0.0.1:$http/ping" >/dev/null 2>&1; }

install_server() {
	if command -v clickhouse-server >/dev/null 2>&1; then return 0; fi
	if ! command -v apt-get >/dev/null 2>&1; then
		say "clickhouse-server is not installed and this is not a Debian/Ubuntu system."
		say "Install ClickHouse (https://clickhouse.com/docs/install) so that clickhouse-server is on PATH,"
		say "or point VIGIL_CLICKHOUSE_DSN at a running server, then run make run again."
		exit 1
	fi
	say "clickhouse-server is missing; installing Debian's clickhouse-server and clickhouse-client"
	local sudo=""
	if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq clickhouse-server clickhouse-client
}

write_config() {
	mkdir -p "$dir/data" "$dir/tmp"
	cat >"$dir/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
    <logger><log>$dir/server.log</log><errorlog>$dir/server.err.log</errorlog><level>warning</level></logger>
    <mark_cache_size>268435456</mark_cache_size>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$tcp</tcp_port>
    <http_port>$http</http_port>
    <path>$dir/data/</path>
    <tmp_path>$dir/tmp/</tmp_path>
    <user_files_path>$dir/user_files/</user_files_path>
    <format_schema_path>$dir/format_schemas/</format_schema_path>
    <timezone>UTC</timezone>
    <users_config>config.xml</users_config>
    <profiles><default></default></profiles>
    <users><default>
        <password></password>
        <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
        <profile>default</profile>
        <quota>default</quota>
    </default></users>
    <quotas><default/></quotas>
</yandex>
XML
}

start() {
	if answering; then
		say "a server already answers on http://127.0.0.1:$http; using it"
		return 0
	fi
	install_server
	write_config
	say "starting clickhouse-server (data in $dir, native port $tcp)"
	# A session of its own: Ctrl-C in the terminal reaches vigil, which drains into ClickHouse
	# before the EXIT trap stops the server.
	rm -f "$pidfile"
	# The jemalloc settings current ClickHouse releases build in; Debian's 18.16 uses the system
	# jemalloc's defaults, under which inserts and merges keep faulting in fresh pages.
	export MALLOC_CONF=${MALLOC_CONF:-percpu_arena:percpu,oversize_threshold:0,muzzy_decay_ms:5000,dirty_decay_ms:5000}
	# The redirections cover the subshell too, which waits on the server: holding the caller's
	# output open, it kept a pipe such as `local.sh start | tee` from ever ending.
	(cd "$dir" && setsid bash -c 'echo $$ >"$1"; exec clickhouse-server --config-file="$2"' _ "$pidfile" "$dir/config.xml") \
		>"$dir/stdout.log" 2>&1 </dev/null &
	for i in $(seq 1 300); do
		if answering; then say "ready"; return 0; fi
		if [ "$i" -gt 20 ] && ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
			say "clickhouse-server exited; the end of its log:"
			tail -n 20 "$dir/server.err.log" "$dir/stdout.log" >&2 || true
			exit 1
		fi
		sleep 0.1
	done
	say "clickhouse-server did not answer within 30s; see $dir/server.err.log"
	exit 1
}

stop() {
	[ -f "$pidfile" ] || return 0
	local pid
	pid=$(cat "$pidfile")
	if kill -0 "$pid" 2>/dev/null; then
		say "stopping clickhouse-server (pid $pid)"
		kill -TERM "$pid"
		for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	rm -f "$pidfile"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) if answering; then say "answering on port $tcp"; else say "not running"; exit 1; fi ;;
*) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
