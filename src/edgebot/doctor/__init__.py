"""Is this installation able to run here: the llama.cpp build's flags (llamabuild), the native self-check in a
child process (selfcheck, probe) and `edgebot doctor`'s checks (checks)."""

from edgebot.doctor.selfcheck import NativeCrashError, ProbeResult

__all__ = ["NativeCrashError", "ProbeResult"]
