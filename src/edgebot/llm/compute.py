"""The one thread that runs llama.cpp's compute for every batched model in this process.

llama.cpp is built with OpenMP here (llama-cpp-python's default): each thread that runs a graph gets its own
OpenMP team, and once a process holds more OpenMP threads than cores, libgomp shortens the spinning of all of
them between parallel regions, so every decode step waits on sleeping threads. A second model's batching
thread, even idle, cut the first model's decode from about 190 to about 120 tokens/s on 2 cores until it
ended (benchmarks/README.md, "Performance"). So every `BatchedProvider` hands its steps to this one thread,
which serves the models in turn, one step each; it ends when the last model closes."""

from __future__ import annotations

import threading
from typing import Protocol


class Stepper(Protocol):
    def wants_turn(self) -> bool:
        """Whether there is work (waiting or running requests, or closing); called with the lock held."""

    def prepare(self) -> bool:
        """Admit waiting requests (lock held); False when the model is closing: it is then dropped."""

    def step(self) -> None:
        """One decode step, without the lock."""


class ComputeThread:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self._models: list[Stepper] = []
        self._thread: threading.Thread | None = None

    def add(self, model: Stepper) -> None:
        with self.cond:
            self._models.append(model)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="edgebot-batch", daemon=True)
                self._thread.start()

    def alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not (ready := [m for m in self._models if m.wants_turn()]):
                    if not self._models:
                        self._thread = None  # a later model starts a new thread (and OpenMP team)
                        return
                    self.cond.wait()
                turns = []
                for m in ready:
                    if m.prepare():
                        turns.append(m)
                    else:
                        self._models.remove(m)
            for m in turns:
                m.step()


COMPUTE = ComputeThread()
