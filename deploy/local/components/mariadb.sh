# shellcheck shell=bash
# MariaDB from Debian's package (mariadb-server): its own data folder, port and socket, with the
# binlog on in ROW format for Canal. Admin work goes through the socket as root; clients use TCP.

mariadb_dir() { printf '%s/mariadb' "$STACK_DIR"; }
mariadb_socket() { printf '%s/mariadb.sock' "$(mariadb_dir)"; }
mariadb_port() { printf '%s' "$MARIADB_PORT"; }

# mariadb_sql <sql...>: runs statements as root through the stack's socket.
mariadb_sql() {
  mariadb --no-defaults --socket="$(mariadb_socket)" -uroot --batch --skip-column-names -e "$*"
}

mariadb_fetch() {
  local bin
  for bin in mariadbd mariadb-install-db mariadb; do
    command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || {
      fail mariadb "'$bin' not found: install Debian's mariadb-server (deploy/local/bootstrap.sh does)"
      return 1
    }
  done
}

mariadb_start() {
  local dir data
  dir=$(mariadb_dir)
  data=$dir/data
  mkdir -p "$dir/conf" "$dir/binlog" "$dir/tmp"
  cat >"$dir/conf/my.cnf" <<CNF
[mariadbd]
datadir=$data
tmpdir=$dir/tmp
port=$MARIADB_PORT
bind-address=127.0.0.1
socket=$(mariadb_socket)
pid-file=$dir/mariadbd.pid
skip-name-resolve
# Canal reads the binlog: ROW format with full row images (MariaDB's default format is MIXED).
log-bin=$dir/binlog/mariadb-bin
binlog_format=ROW
binlog_row_image=FULL
server_id=${SLUICE_STACK_MARIADB_SERVER_ID:-7301}
binlog_expire_logs_seconds=172800
max_connections=1000
innodb_buffer_pool_size=${SLUICE_STACK_MARIADB_BUFFER_POOL:-512M}
max_allowed_packet=64M
character-set-server=utf8mb4
CNF
  if [ "$(id -u)" -eq 0 ]; then echo "user=root" >>"$dir/conf/my.cnf"; fi
  if [ ! -d "$data/mysql" ]; then
    log "mariadb: initialising a new data folder"
    mariadb-install-db --defaults-file="$dir/conf/my.cnf" --auth-root-authentication-method=socket \
      --skip-test-db >"$dir/install.log" 2>&1 || {
      fail mariadb "mariadb-install-db failed" "$dir/install.log"
      return 1
    }
  fi
  local mariadbd_bin
  mariadbd_bin=$(command -v mariadbd || echo /usr/sbin/mariadbd)
  start_bg mariadb "$mariadbd_bin" --defaults-file="$dir/conf/my.cnf"
}

mariadb_ready() { mariadb_sql 'SELECT 1' >/dev/null 2>&1; }

mariadb_version() { mariadb_sql 'SELECT VERSION()' | cut -d- -f1; }

# Users, databases and the sample source schema (idempotent).
mariadb_after_up() {
  mariadb_sql "
    CREATE USER IF NOT EXISTS 'canal'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('canal');
    GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT, SHOW VIEW ON *.* TO 'canal'@'127.0.0.1';
    CREATE USER IF NOT EXISTS 'sluice'@'127.0.0.1' IDENTIFIED VIA mysql_native_password USING PASSWORD('sluice');
    GRANT ALL PRIVILEGES ON *.* TO 'sluice'@'127.0.0.1' WITH GRANT OPTION;
    CREATE DATABASE IF NOT EXISTS \`$META_DB\` CHARACTER SET utf8mb4;
    CREATE DATABASE IF NOT EXISTS \`$SOURCE_DB\` CHARACTER SET utf8mb4;
  " && mariadb --no-defaults --socket="$(mariadb_socket)" -uroot "$SOURCE_DB" \
    <"$HERE/mariadb/source-schema.sql"
}
