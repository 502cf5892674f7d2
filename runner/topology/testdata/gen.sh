#!/usr/bin/env bash
# Regenerates the fake /sys + /proc trees the topology tests read.
#   machine NAME NODES CORES_PER_NODE THREADS_PER_CORE MEM_KB_PER_NODE MODEL
# CPU numbering follows Linux on Intel servers: first threads of every core
# on every node, then the SMT siblings (cpu N and N + total cores are siblings).
set -euo pipefail
cd "$(dirname "$0")"
machine() {
  local name=$1 nodes=$2 cpn=$3 tpc=$4 mem=$5 model=$6
  rm -rf "$name"; local sys="$name/sys/devices/system"
  mkdir -p "$sys/cpu" "$sys/node" "$name/proc"
  local cores=$((nodes * cpn)) total=$((nodes * cpn * tpc))
  echo "0-$((total - 1))" > "$sys/cpu/online"
  echo "0-$((nodes - 1))" > "$sys/node/online"
  : > "$name/proc/cpuinfo"
  for ((n = 0; n < nodes; n++)); do mkdir -p "$sys/node/node$n"; : > "$sys/node/node$n/list"; done
  for ((c = 0; c < total; c++)); do
    local core=$((c % cores)) node=$(((c % cores) / cpn))
    mkdir -p "$sys/cpu/cpu$c/topology"
    echo $((core % cpn)) > "$sys/cpu/cpu$c/topology/core_id"
    echo "$node" > "$sys/cpu/cpu$c/topology/physical_package_id"
    echo "$c" >> "$sys/node/node$node/list"
    printf 'processor\t: %d\nmodel name\t: %s\n\n' "$c" "$model" >> "$name/proc/cpuinfo"
  done
  for ((n = 0; n < nodes; n++)); do
    # cpulist in the kernel's range syntax
    sort -n "$sys/node/node$n/list" | awk 'NR==1{s=$1;p=$1;next} $1==p+1{p=$1;next} {printf "%s%s,", s, (s==p?"":"-"p); s=$1;p=$1} END{printf "%s%s\n", s, (s==p?"":"-"p)}' > "$sys/node/node$n/cpulist"
    rm "$sys/node/node$n/list"
    printf 'Node %d MemTotal:       %d kB\nNode %d MemFree:        %d kB\n' "$n" "$mem" "$n" $((mem / 2)) > "$sys/node/node$n/meminfo"
  done
  printf 'MemTotal:       %d kB\n' $((mem * nodes)) > "$name/proc/meminfo"
}
# A laptop-like single node: 4 cores, 2 threads each, 16 GiB.
machine one-node 1 4 2 16777216 "Intel(R) Core(TM) i7-1185G7 @ 3.00GHz"
# A 2-socket server: 2 x 16 cores, SMT on, 128 GiB per node.
machine two-node 2 16 2 134217728 "Intel(R) Xeon(R) Platinum 8480+"
# A 4-node part (SNC-4 or EPYC NPS4): 4 x 8 cores, SMT off, 32 GiB per node.
machine four-node 4 8 1 33554432 "AMD EPYC 9354 32-Core Processor"
# A 2-socket server with room for the scaling suite's 32-core engine beside
# a load generator: 2 x 24 cores, SMT off, 64 GiB per node.
machine two-socket-24 2 24 1 67108864 "Intel(R) Xeon(R) Gold 6442Y"
