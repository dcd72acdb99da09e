"""Loading llama.cpp's shared libraries: first, before numpy.

On a CUDA build (H200, CUDA 13, numpy 2.5) `llama_model_load_from_file` died with a segmentation fault when
numpy had been imported before llama_cpp, and loaded fine the other way round (issue 21). The cause is not
established, and it does not reproduce on CPU builds. llama_cpp loads its libraries with RTLD_GLOBAL, so
which libraries are in the process first decides how their symbols bind; edgebot therefore loads llama.cpp
before numpy in every process that runs a model (`serve`, `chat`, the self-check's child, `bench`).
"""

from __future__ import annotations

import sys


def load_llama_first() -> bool:
    """Load llama.cpp's libraries now. False when numpy was already loaded (too late to choose the order);
    callers put this before any import that reaches numpy."""
    early = "numpy" not in sys.modules
    import llama_cpp.llama_cpp  # noqa: F401 - loads libllama and libggml* (ctypes, RTLD_GLOBAL)

    return early
