"""kefu benchmarks: ``python -m bench.run`` (``make bench``).

- :mod:`bench.standin_engine` -- a STAND-IN engine (not a model) that streams like a 7B model.
- :mod:`bench.loadgen` -- a closed-loop load generator, run in its own process.
- :mod:`bench.run` -- orchestrates both against kefu and writes ``docs/benchmarks.md``.
"""
