#!/bin/sh
# The defaults experiment: candidate networks on the real-data tasks, one
# thread, results appended to results.jsonl (summarize.py makes the tables
# of RESULTS.md). SEQ_TASKS_DIR may point at another copy of the task loaders.
cd "$(dirname "$0")"
OMP_NUM_THREADS=1 exec python harness.py "$@"
