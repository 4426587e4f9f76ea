#!/usr/bin/env python3
"""Why a thread was off its CPU: from the scheduler's own trace, every interval in which one thread
(default: the process's main thread, i.e. Node's JS thread) was runnable but not running, and what
ran on the CPUs meanwhile (other threads with their priority, or the idle task: a CPU that stayed
idle while the thread waited is a wake-up the machine was slow to deliver, not a busier thread).

    perf record -e sched:sched_switch -e sched:sched_wakeup -m 4096 -o /tmp/sched.data \\
        node bench/localize-gaps.mjs segmentation
    perf script -i /tmp/sched.data -F comm,pid,tid,cpu,time,event,trace | python3 bench/sched_waits.py [--tid N] [--min-ms 2]

Prints the total runnable-but-waiting time in intervals of at least --min-ms, the threads that held
the CPUs during them (ms, summed over both CPUs; prio 120 is nice 0, 130 nice 10), and the longest
off-CPU intervals with their kind (S: asleep, woken later; R: preempted while runnable). Linux
only (needs the sched tracepoints: perf list | grep sched_switch). Standard library only.
"""
import argparse
import collections
import re
import sys

LINE = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s+(.*)")
SWITCH = re.compile(
    r"prev_comm=(.*?) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> next_comm=(.*?) next_pid=(\d+) next_prio=(\d+)"
)
WAKEUP = re.compile(r"pid=(\d+)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tid", type=int, help="thread to follow (default: the first pid in the trace)")
    ap.add_argument("--min-ms", type=float, default=2.0, help="shortest wait reported (default 2 ms)")
    ap.add_argument("--top", type=int, default=12, help="how many threads and intervals to list")
    args = ap.parse_args()

    events = []
    for line in sys.stdin:
        m = LINE.match(line)
        if m:
            events.append((float(m.group(5)), int(m.group(2)), int(m.group(4)), m.group(6), m.group(7)))
    if not events:
        sys.exit("no sched events on standard input (see the usage at the top of this file)")
    tid = args.tid if args.tid is not None else events[0][1]

    running = {}  # cpu -> (tid, comm, prio, since)
    spans = []  # (cpu, tid, comm, prio, t0, t1): who held each CPU when
    waits = []  # (t0, t1): the followed thread runnable but not running
    offcpu = []  # (ms, state, t0)
    runnable_since = None
    left = None
    for t, _pid, cpu, event, trace in events:
        if event == "sched:sched_switch":
            m = SWITCH.search(trace)
            if not m:
                continue
            prev, state, nxt = int(m.group(2)), m.group(4), int(m.group(6))
            if cpu in running:
                r = running[cpu]
                spans.append((cpu, r[0], r[1], r[2], r[3], t))
            running[cpu] = (nxt, m.group(5), int(m.group(7)), t)
            if prev == tid:
                left = (t, state)
                runnable_since = t if state.startswith("R") else None
            if nxt == tid:
                if runnable_since is not None:
                    waits.append((runnable_since, t))
                if left is not None:
                    offcpu.append(((t - left[0]) * 1000, left[1], left[0]))
                runnable_since = left = None
        elif event == "sched:sched_wakeup":
            m = WAKEUP.search(trace)
            if m and int(m.group(1)) == tid and left is not None and runnable_since is None:
                runnable_since = t

    start = events[0][0]
    long_waits = [(a, b) for a, b in waits if (b - a) * 1000 >= args.min_ms]
    total = sum(b - a for a, b in long_waits) * 1000
    print(f"thread {tid}: {len(waits)} waits for a CPU, {len(long_waits)} of >= {args.min_ms} ms, {total:.1f} ms in those")
    held = collections.Counter()
    for a, b in long_waits:
        for _cpu, t2, comm, prio, t0, t1 in spans:
            overlap = min(b, t1) - max(a, t0)
            if overlap > 0:
                held[("idle" if t2 == 0 else comm, t2, prio)] += overlap * 1000
    print("what held the CPUs meanwhile (ms, both CPUs):")
    for (comm, t2, prio), ms in held.most_common(args.top):
        print(f"  {ms:8.1f}  {comm} (tid {t2}, prio {prio})")
    print(f"longest off-CPU intervals of thread {tid} (ms after the first event):")
    for ms, state, t0 in sorted(offcpu, reverse=True)[: args.top]:
        print(f"  {ms:8.1f} ms  state {state}  at +{(t0 - start) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
