"""edgebot: an offline chatbot for websites."""

import os

# numpy's and scipy's OpenBLAS start a thread per core and keep them spinning after each call, on the cores
# llama.cpp decodes on: a 20,000 x 384 matrix-vector product (a vector search) every 100 ms cut 4 sequences'
# decoding from 202 to 58 tokens/s; with one BLAS thread, no loss, and intent training was no slower
# (benchmarks/blas_threads.py). It must be set before numpy loads; an OPENBLAS_NUM_THREADS already set wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
