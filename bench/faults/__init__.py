"""The fault harness: a seeded proxy, crash loops of servers and laptops, and the checks that
every run ends with (`bench.faults.check`). Short runs are tests (`tests/faults`); long
runs are `python -m bench.faults`."""
