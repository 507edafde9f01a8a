#!/usr/bin/env bash
# A local Apache Flink 1.19 standalone cluster (a JobManager and a TaskManager with 2 slots), the Beam job
# server that `cx ingest --runner PortableRunner --job_endpoint localhost:8099` submits to, and a Beam Python
# worker pool (localhost:50000) that starts one SDK worker process per task slot for
# `--environment_type EXTERNAL --environment_config localhost:50000`.
#   flink/flink.sh up     fetch what is missing (once), start the cluster and the job server, wait for both
#   flink/flink.sh down   stop them
# The Flink distribution comes from PyPI's apache-flink-libraries (its jars, unpacked into .flink/dist; not
# installed: PyFlink pins an old apache-beam), the job server's classpath through Maven (flink/pom.xml).
# FLINK_MASTER='[local]' skips the cluster and runs an embedded Flink mini cluster in the job server;
# FLINK_MASTER=host:8081 submits to a cluster of yours. TASK_SLOTS (2), TM_MEMORY (2048m) and TM_OFF_HEAP
# (0m: the direct memory tasks may take beyond Flink's own) size the TaskManager.
set -euo pipefail
cd "$(dirname "$0")/.."
FLINK_VERSION=1.19.3
HOME_DIR=.flink
LIB="$HOME_DIR/lib"
DIST="$HOME_DIR/dist"
JOB_PORT="${JOB_PORT:-8099}"
POOL_PORT="${POOL_PORT:-50000}"
REST_PORT=8081
FLINK_MASTER="${FLINK_MASTER:-localhost:$REST_PORT}"
TASK_SLOTS="${TASK_SLOTS:-2}"
TM_MEMORY="${TM_MEMORY:-2048m}"
TM_OFF_HEAP="${TM_OFF_HEAP:-0m}"
PYTHON="${PYTHON:-.venv/bin/python}"

running() { [ -f "$HOME_DIR/$1.pid" ] && kill -0 "$(cat "$HOME_DIR/$1.pid")" 2>/dev/null; }

wait_for() {  # name, test command; fails with the log's tail when the process exits or 90 s pass
    local name=$1; shift
    for _ in $(seq 1 180); do
        if "$@" 2>/dev/null; then return; fi
        if ! running "$name"; then
            echo "$name exited; the end of $HOME_DIR/$name.log:" >&2; tail -20 "$HOME_DIR/$name.log" >&2; exit 1
        fi
        sleep 0.5
    done
    echo "$name did not come up within 90 s (log: $HOME_DIR/$name.log)" >&2
    exit 1
}

start() {  # name, command...: run in the background, log and pid under .flink/
    local name=$1; shift
    "$@" > "$HOME_DIR/$name.log" 2>&1 &
    echo $! > "$HOME_DIR/$name.pid"
}

fetch() {
    mkdir -p "$HOME_DIR"
    if [ ! -f "$LIB/.complete" ]; then
        echo "fetching the Flink job server's classpath through Maven into $LIB ..."
        mvn -q -f flink/pom.xml dependency:copy-dependencies -DoutputDirectory="$PWD/$LIB"
        touch "$LIB/.complete"
    fi
    if [ "$FLINK_MASTER" = "localhost:$REST_PORT" ] && [ ! -f "$DIST/.complete" ]; then
        echo "fetching Flink $FLINK_VERSION (PyPI apache-flink-libraries) into $DIST ..."
        rm -rf "$DIST" "$HOME_DIR/download" && mkdir -p "$HOME_DIR/download"
        "$PYTHON" -m pip download --quiet --no-deps --no-binary :all: -d "$HOME_DIR/download" "apache-flink-libraries==$FLINK_VERSION"
        tar xzf "$HOME_DIR"/download/apache-flink-libraries-*.tar.gz -C "$HOME_DIR/download"
        mv "$HOME_DIR"/download/apache-flink-libraries-*/deps "$DIST"
        rm -rf "$HOME_DIR/download"
        touch "$DIST/.complete"
    fi
}

cluster_up() {
    mkdir -p "$DIST/conf"
    cat > "$DIST/conf/flink-conf.yaml" <<CONF
jobmanager.rpc.address: localhost
jobmanager.bind-host: localhost
rest.address: localhost
rest.bind-address: localhost
rest.port: $REST_PORT
jobmanager.memory.process.size: 1024m
taskmanager.host: localhost
taskmanager.bind-host: localhost
taskmanager.memory.process.size: $TM_MEMORY
taskmanager.memory.task.off-heap.size: $TM_OFF_HEAP
taskmanager.numberOfTaskSlots: $TASK_SLOTS
parallelism.default: $TASK_SLOTS
CONF
    if ! running jobmanager; then
        start jobmanager java -cp "$DIST/lib/*" org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint --configDir "$DIST/conf"
    fi
    wait_for jobmanager curl -sf "localhost:$REST_PORT/overview" -o /dev/null
    if ! running taskmanager; then
        # the JVM and memory settings Flink's own scripts derive from the configuration
        local params
        params=$(java -cp "$DIST/bin/bash-java-utils.jar:$DIST/lib/*" org.apache.flink.runtime.util.bash.BashJavaUtils \
                 GET_TM_RESOURCE_PARAMS --configDir "$DIST/conf" 2>/dev/null | sed -n 's/^BASH_JAVA_UTILS_EXEC_RESULT://p')
        # shellcheck disable=SC2046
        start taskmanager java $(echo "$params" | sed -n 1p) --add-opens=java.base/java.util=ALL-UNNAMED \
            --add-opens=java.base/java.lang=ALL-UNNAMED -cp "$DIST/lib/*" org.apache.flink.runtime.taskexecutor.TaskManagerRunner \
            --configDir "$DIST/conf" $(echo "$params" | sed -n 2p)
    fi
    wait_for taskmanager sh -c "curl -sf localhost:$REST_PORT/overview | grep -q '\"slots-total\":$TASK_SLOTS'"
    echo "Flink $FLINK_VERSION up: http://localhost:$REST_PORT, 1 TaskManager with $TASK_SLOTS slots"
}

up() {
    fetch
    if [ "$FLINK_MASTER" = "localhost:$REST_PORT" ]; then cluster_up; fi
    if ! running jobserver; then
        start jobserver java -cp "$LIB/*" org.apache.beam.runners.flink.FlinkJobServerDriver \
            --flink-master="$FLINK_MASTER" --job-port="$JOB_PORT" --artifact-port=0 --expansion-port=0
    fi
    wait_for jobserver bash -c "exec 3<>/dev/tcp/127.0.0.1/$JOB_PORT"
    echo "Beam job server up: localhost:$JOB_PORT, Flink master $FLINK_MASTER"
    if ! running workerpool; then
        # the pool starts each worker as `python`: the project's environment, with the job's code installed
        start workerpool env PATH="$PWD/$(dirname "$PYTHON"):$PATH" "$PYTHON" -m apache_beam.runners.worker.worker_pool_main \
            --service_port="$POOL_PORT"
    fi
    wait_for workerpool bash -c "exec 3<>/dev/tcp/127.0.0.1/$POOL_PORT"
    echo "Beam Python worker pool up: localhost:$POOL_PORT"
}

down() {
    for name in workerpool jobserver taskmanager jobmanager; do
        if running "$name"; then kill "$(cat "$HOME_DIR/$name.pid")"; echo "$name stopped"; fi
        rm -f "$HOME_DIR/$name.pid"
    done
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
