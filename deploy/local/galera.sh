# The Galera mode of deploy/local/stack (sourced by it, not run alone): three private
# MariaDB nodes on loopback in one cluster, and haproxy in front of them.
#
# One writer: haproxy sends every connection to one node and keeps it there (a stick
# table of one entry), the other two are `backup`. Writing to all three at once makes
# hot sections fail certification (1213) on a quarter of the attempts; one writer has
# the locks of a single server. A node counts as up only while it is Synced in the
# primary component (galera-check), so a joiner or a blocked donor is never written to.
# When the writer dies, haproxy moves to a backup and stays there when the old writer
# comes back (no failback: that would be a second interruption).
#
# A node killed mid-rush rejoins by incremental transfer (IST) from the survivors'
# gcache only when it is started at the position InnoDB recovered (--wsrep-recover); a
# plain start after a crash asks for a full copy (SST), which blocks its donor. The
# donor is therefore named, and it is never the writer.

galera_node_dir() { echo "$galera_dir/n$1"; }
# The nodes run as mysql when the script runs as root: a full transfer (rsync SST)
# starts an rsync daemon, which as root would write as nobody.
galera_user() { if [ "$(id -u)" = 0 ]; then echo mysql; else id -un; fi; }
galera_sock() { echo "$galera_dir/n$1/mysqld.sock"; }
galera_pid() { echo "$galera_dir/n$1/mysqld.pid"; }
# galera_launched I is the pid the script started node I as: mariadbd writes its own pid
# file only once a full transfer (SST) is done, which on a busy machine takes longer than
# any fixed grace, so a node in transfer is known, and stopped, by this one.
galera_launched() { echo "$galera_dir/n$1/launched.pid"; }
galera_alive() { alive "$(galera_pid "$1")" || alive "$(galera_launched "$1")"; }

# galera_args I prints node I's mariadbd options (one a line).
galera_args() {
	local i=$1 n peers="" j
	n=$(galera_node_dir "$i")
	for j in $galera_nodes; do peers="$peers${peers:+,}127.0.0.1:$((gcomm_port + j))"; done
	cat <<ARGS
--no-defaults
--datadir=$n/data
--socket=$n/mysqld.sock
--pid-file=$n/mysqld.pid
--tmpdir=$n/tmp
--port=$((galera_port + i))
--bind-address=127.0.0.1
--user=$(galera_user)
--log-error=$n/error.log
--skip-name-resolve
--max-connections=1000
--innodb-buffer-pool-size=192M
--innodb-log-file-size=64M
--character-set-server=utf8mb4
--collation-server=utf8mb4_unicode_ci
--binlog-format=ROW
--innodb-autoinc-lock-mode=2
--wsrep-on=ON
--wsrep-provider=/usr/lib/galera/libgalera_smm.so
--wsrep-cluster-name=school
--wsrep-node-name=n$i
--wsrep-node-address=127.0.0.1:$((gcomm_port + i))
--wsrep-node-incoming-address=127.0.0.1:$((galera_port + i))
--wsrep-cluster-address=gcomm://$peers
--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$((gcomm_port + i)); ist.recv_addr=127.0.0.1:$((gcomm_port + 10 + i)); gcache.size=256M
--wsrep-sst-method=rsync
--wsrep-sst-receive-address=127.0.0.1:$((gcomm_port + 20 + i))
--wsrep-slave-threads=2
ARGS
}
# Galera's own view-change timeouts (a silent node suspected after 5 s), as in
# deploy/galera/galera.cnf: with 2 s, a backup that stalled for 3 s while the writer
# died left both survivors without a primary component for good (deploy/database.md);
# on this machine, loaded by the tests, a node can stall that long.

# A stopped node (SIGSTOP in the drills) accepts the connection and never answers:
# give up after 2 s rather than wait for it.
galera_sql() { mariadb --no-defaults --connect-timeout=2 --socket="$(galera_sock "$1")" -uroot -Nse "$2" 2>/dev/null; }

# galera_synced I: node I is Synced (4) in the primary component.
galera_synced() {
	[ "$(galera_sql "$1" "SELECT COUNT(*) FROM information_schema.GLOBAL_STATUS WHERE
		(VARIABLE_NAME = 'WSREP_LOCAL_STATE' AND VARIABLE_VALUE = '4') OR
		(VARIABLE_NAME = 'WSREP_CLUSTER_STATUS' AND VARIABLE_VALUE = 'Primary')")" = 2 ]
}

# galera_writer prints the node haproxy sends connections to now (empty when none).
galera_writer() {
	alive "$galera_dir/haproxy.pid" || return 0
	mariadb --no-defaults --connect-timeout=2 -h127.0.0.1 -P"$galera_port" -uhaproxy_check -Nse \
		'SELECT @@wsrep_node_name' 2>/dev/null | sed 's/^n//' || true
}

# galera_recover I prints the position (uuid:seqno) InnoDB of node I holds, read by
# mariadbd --wsrep-recover (the node must be stopped).
galera_recover() {
	local i=$1 n log
	n=$(galera_node_dir "$i")
	log=$n/recover.log
	: >"$log"
	chown "$(galera_user)" "$log"
	mapfile -t args < <(galera_args "$i")
	mariadbd "${args[@]}" --log-error="$log" --wsrep-recover >/dev/null 2>&1 || true
	sed -n 's/.*WSREP: Recovered position: *//p' "$log" | tail -1
}

# galera_start I [OPTION…] starts node I and waits until it is Synced. A node whose last
# stop was a crash (seqno -1 in grastate.dat) starts at its recovered position, so it
# catches up by IST. It prints how it caught up.
galera_start() {
	local i=$1 n pos size t
	shift
	n=$(galera_node_dir "$i")
	mkdir -p "$n/tmp" "$n/data"
	chown -R "$(galera_user)" "$n"
	if [ -f "$n/data/grastate.dat" ] && grep -q '^seqno: *-1' "$n/data/grastate.dat" && [ "${1:-}" != --wsrep-new-cluster ]; then
		pos=$(galera_recover "$i")
		[ -n "$pos" ] && set -- "$@" "--wsrep-start-position=$pos"
	fi
	size=$(stat -c %s "$n/error.log" 2>/dev/null || echo 0)
	mapfile -t args < <(galera_args "$i")
	setsid mariadbd "${args[@]}" "$@" </dev/null >/dev/null 2>&1 &
	echo $! >"$(galera_launched "$i")"
	for t in $(seq 1 600); do
		galera_synced "$i" && break
		galera_alive "$i" || [ "$t" -lt 50 ] || die "galera node n$i exited, see $n/error.log"
		sleep 0.2
	done
	galera_synced "$i" || die "galera node n$i did not reach Synced, see $n/error.log"
	local how="no transfer"
	if tail -c +"$((size + 1))" "$n/error.log" | grep -q 'rsync SST completed'; then
		how="full transfer, SST"
	elif tail -c +"$((size + 1))" "$n/error.log" | grep -q 'IST received'; then
		how="incremental transfer, IST"
	fi
	log "galera node n$i synced on 127.0.0.1:$((galera_port + i)) (${pos:+from $pos, }$how)"
}

# galera_donors I names the donors node I may take a transfer from: Synced nodes other
# than itself and the writer.
galera_donors() {
	local i=$1 w j list=""
	w=$(galera_writer)
	for j in $galera_nodes; do
		[ "$j" = "$i" ] || [ "$j" = "$w" ] || ! alive "$(galera_pid "$j")" || ! galera_synced "$j" || list="$list${list:+,}n$j"
	done
	echo "$list"
}

# galera_bootstrap_node picks the node to start a stopped cluster from: the one Galera
# marked safe (the last to stop cleanly), else the one with the highest recovered seqno,
# which is then marked safe.
galera_bootstrap_node() {
	local i best="" best_seq=-2 pos seq
	for i in $galera_nodes; do
		grep -q '^safe_to_bootstrap: *1' "$(galera_node_dir "$i")/data/grastate.dat" 2>/dev/null && { echo "$i"; return; }
	done
	for i in $galera_nodes; do
		[ -d "$(galera_node_dir "$i")/data/mysql" ] || continue
		pos=$(galera_recover "$i")
		seq=${pos##*:}
		[ -n "$seq" ] && [ "$seq" -gt "$best_seq" ] && { best=$i; best_seq=$seq; }
	done
	[ -n "$best" ] || die "no galera node has data to bootstrap from"
	sed -i 's/^safe_to_bootstrap: *0/safe_to_bootstrap: 1/' "$(galera_node_dir "$best")/data/grastate.dat"
	log "bootstrapping from n$best (seqno $best_seq, the most advanced)"
	echo "$best"
}

galera_accounts() {
	mariadb --no-defaults --socket="$(galera_sock "$1")" -uroot <<SQL
CREATE DATABASE IF NOT EXISTS school;
CREATE USER IF NOT EXISTS 'school'@'127.0.0.1' IDENTIFIED BY '$db_password';
ALTER USER 'school'@'127.0.0.1' IDENTIFIED BY '$db_password';
-- Its own schema only (and the tests' throwaway ones): no global privilege, so a node
-- that is read-only really refuses it.
GRANT ALL PRIVILEGES ON \`school\`.* TO 'school'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`test\\_%\`.* TO 'school'@'127.0.0.1';
-- haproxy's health check reads the node's state and nothing else.
CREATE USER IF NOT EXISTS 'haproxy_check'@'127.0.0.1';
SQL
}

galera_haproxy() {
	local cfg=$galera_dir/haproxy.cfg pid=$galera_dir/haproxy.pid i
	alive "$pid" && return
	{
		cat <<CFG
global
	stats socket $galera_dir/haproxy.sock mode 600 level admin
	maxconn 8000
	external-check
	insecure-fork-wanted

defaults
	mode tcp
	timeout connect 1s
	timeout client 30m
	timeout server 30m
	timeout check 2s
	retries 2
	option redispatch

listen galera
	bind 127.0.0.1:$galera_port
	option external-check
	external-check path "/usr/bin:/bin"
	external-check command $root/deploy/galera/galera-check
	# One writer, no failback: the one entry remembers the server chosen last.
	stick-table type ip size 1
	stick on dst
	default-server check inter 1s fastinter 500ms downinter 1s rise 2 fall 2 on-marked-down shutdown-sessions
CFG
		for i in $galera_nodes; do
			printf '\tserver n%s 127.0.0.1:%s%s\n' "$i" "$((galera_port + i))" "$([ "$i" = 1 ] || echo ' backup')"
		done
	} >"$cfg"
	haproxy -c -q -f "$cfg" || die "haproxy refuses $cfg"
	haproxy -D -f "$cfg" -p "$pid" || die "haproxy did not start"
	for i in $(seq 1 50); do
		[ -n "$(galera_writer)" ] && break
		sleep 0.2
	done
	[ -n "$(galera_writer)" ] || die "haproxy on 127.0.0.1:$galera_port reaches no synced node"
	log "haproxy on 127.0.0.1:$galera_port, writer n$(galera_writer)"
}

galera_up() {
	local i boot="" fresh=""
	# The nodes' user (mysql) must reach their folders, whatever umask made secrets.env.
	umask 022
	mkdir -p "$galera_dir"
	for i in $galera_nodes; do alive "$(galera_pid "$i")" && boot=$i; done
	if [ -z "$boot" ]; then
		if [ ! -d "$(galera_node_dir 1)/data/mysql" ]; then
			fresh=1 boot=1
			mkdir -p "$(galera_node_dir 1)/data"
			mariadb-install-db --no-defaults --datadir="$(galera_node_dir 1)/data" --user="$(galera_user)" \
				--auth-root-authentication-method=socket --skip-test-db >"$(galera_node_dir 1)/install.log" 2>&1 ||
				die "mariadb-install-db failed, see $(galera_node_dir 1)/install.log"
		else
			boot=$(galera_bootstrap_node)
		fi
		galera_start "$boot" --wsrep-new-cluster
	fi
	galera_accounts "$boot"
	for i in $galera_nodes; do
		alive "$(galera_pid "$i")" && continue
		mkdir -p "$(galera_node_dir "$i")/data"
		# Nobody writes yet: any synced node may give the copy.
		galera_start "$i" --wsrep-sst-donor="n$boot,"
	done
	galera_haproxy
	# wsrep_sync_wait=1: a transaction's reads wait until the node has applied what the
	# cluster committed before they began. On the writer that is nothing to wait for;
	# on a backup that just took over, it is the old writer's last transactions, which
	# the rules (a student's credits, their sections) must see.
	umask 077
	cat >"$dir/galera.env" <<ENV
SCHOOL_DB_DSN='school:$db_password@tcp(127.0.0.1:$galera_port)/school?wsrep_sync_wait=1'
SCHOOL_STACK_GALERA_PORT='$galera_port'
SCHOOL_STACK_GALERA_GCOMM_PORT='$gcomm_port'
SCHOOL_STACK_DIR='$dir'
ENV
	echo "Galera:     school:***@tcp(127.0.0.1:$galera_port)/school through haproxy, writer n$(galera_writer)${fresh:+ (new cluster)}"
	echo "Settings:   $dir/galera.env"
}

galera_down() {
	local i
	stop haproxy "$galera_dir/haproxy.pid"
	# The last node to stop is marked safe to bootstrap from.
	for i in $(echo "$galera_nodes" | tr ' ' '\n' | sort -r); do
		if alive "$(galera_pid "$i")"; then
			stop "galera node n$i" "$(galera_pid "$i")"
		else
			stop "galera node n$i" "$(galera_launched "$i")"
		fi
	done
}

galera_kill_writer() {
	local w pid
	w=$(galera_writer)
	[ -n "$w" ] || die "no writer: is the Galera stack up?"
	pid=$(cat "$(galera_pid "$w")")
	kill -9 "$pid"
	log "killed the writer n$w (pid $pid, SIGKILL)"
}

galera_rejoin() {
	local i donors
	for i in $galera_nodes; do
		alive "$(galera_pid "$i")" && continue
		donors=$(galera_donors "$i")
		[ -n "$donors" ] || die "n$i: no synced node other than the writer to take a transfer from"
		galera_start "$i" --wsrep-sst-donor="$donors"
	done
}

galera_status() {
	local i rc=0 state w
	for i in $galera_nodes; do
		if alive "$(galera_pid "$i")"; then
			state=$(galera_sql "$i" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'WSREP_LOCAL_STATE_COMMENT'" || true)
			echo "n$i: running, pid $(cat "$(galera_pid "$i")"), 127.0.0.1:$((galera_port + i)), ${state:-not answering}"
		else
			echo "n$i: stopped"
			rc=1
		fi
	done
	if alive "$galera_dir/haproxy.pid"; then
		w=$(galera_writer)
		if [ -n "$w" ]; then
			echo "haproxy: running, 127.0.0.1:$galera_port, writer n$w"
		else
			echo "haproxy: running, 127.0.0.1:$galera_port, no writer (no node is Synced in a primary component)"
		fi
	else
		echo "haproxy: stopped"
		rc=1
	fi
	return $rc
}
