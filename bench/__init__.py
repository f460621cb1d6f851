"""Speed benchmarks (``make bench`` = ``python -m bench``): never timed tests.

Single-profile latency of ``recommend`` in process and of the ``imgpipeline recommend`` CLI,
batch throughput (applicant-program pairs per second) at 1k, 10k and 100k profiles, and peak
memory, each measured in a fresh subprocess (``bench.workers``) so one measurement's memory
does not inflate the next. Results and the machine are printed; docs/benchmarks.md records them.
"""
