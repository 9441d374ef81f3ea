#!/bin/sh
# Writes $ZOO_CONF_DIR/zoo.cfg and the myid file from ZOO_* variables when no
# zoo.cfg was mounted, as the official zookeeper image does, then runs the
# server in the foreground. Variables (official names and defaults):
#   ZOO_MY_ID (1), ZOO_SERVERS ("server.1=host:2888:3888;2181 server.2=..."),
#   ZOO_TICK_TIME (2000), ZOO_INIT_LIMIT (5), ZOO_SYNC_LIMIT (2),
#   ZOO_MAX_CLIENT_CNXNS (60), ZOO_STANDALONE_ENABLED (true),
#   ZOO_ADMINSERVER_ENABLED (true), ZOO_4LW_COMMANDS_WHITELIST (srvr),
#   ZOO_CFG_EXTRA (more "key=value" words), JVMFLAGS.
set -eu

conf="${ZOO_CONF_DIR}/zoo.cfg"
if [ ! -f "${conf}" ]; then
  {
    echo "dataDir=${ZOO_DATA_DIR}"
    echo "dataLogDir=${ZOO_DATA_LOG_DIR}"
    echo "tickTime=${ZOO_TICK_TIME:-2000}"
    echo "initLimit=${ZOO_INIT_LIMIT:-5}"
    echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
    echo "maxClientCnxns=${ZOO_MAX_CLIENT_CNXNS:-60}"
    echo "standaloneEnabled=${ZOO_STANDALONE_ENABLED:-true}"
    echo "admin.enableServer=${ZOO_ADMINSERVER_ENABLED:-true}"
    echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr}"
    if [ -z "${ZOO_SERVERS:-}" ]; then
      echo "clientPort=2181"
    else
      for server in ${ZOO_SERVERS}; do echo "${server}"; done
    fi
    for entry in ${ZOO_CFG_EXTRA:-}; do echo "${entry}"; done
  } >"${conf}"
fi
if [ ! -f "${ZOO_DATA_DIR}/myid" ]; then
  echo "${ZOO_MY_ID:-1}" >"${ZOO_DATA_DIR}/myid"
fi

if [ "$#" -ge 2 ] && [ "$1" = zkServer.sh ] && [ "$2" = start-foreground ]; then
  # Debian's zkServer.sh looks for its configuration in /etc/zookeeper; run
  # the server class directly, with slf4j's simple binding logging to stderr.
  # shellcheck disable=SC2086 # JVMFLAGS is a list of words on purpose
  exec java ${JVMFLAGS} -Djava.net.preferIPv4Stack=true \
    -Dorg.slf4j.simpleLogger.showDateTime=true \
    "-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd HH:mm:ss.SSS" \
    -cp "${ZOO_CONF_DIR}:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar" \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "${conf}"
fi
exec "$@"
