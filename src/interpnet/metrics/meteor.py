"""A METEOR 1.5 client: one JVM per evaluation, always shut down, never left hanging.

Talks to the ``meteor-1.5.jar`` shipped in pycocoevalcap with the same protocol and options
as the MS-COCO toolkit's wrapper (``-l en -norm``, stdio mode), but with sanitised input,
time-outs on every answer, and a context manager that kills the process on any exit.
"""

from __future__ import annotations

import queue
import subprocess
import threading
from types import TracebackType

from interpnet.errors import InterpnetError
from interpnet.metrics.java import java_executable, toolkit_file

_CHUNK = 200  # SCORE lines written before their answers are read (keeps pipes far from full)


def sanitize(text: str) -> str:
    """One line of plain text METEOR can parse: no newlines, no '|||' separators."""
    return " ".join(text.replace("|||", " ").split())


class MeteorError(InterpnetError):
    """The METEOR process failed or stopped answering."""


class Meteor:
    """``with Meteor() as m: corpus, per_sentence = m.score(hypotheses, references)``."""

    def __init__(self, memory: str = "1G", timeout: float = 120.0):
        jar = toolkit_file("meteor/meteor-1.5.jar")
        cmd = [
            java_executable(),
            f"-Xmx{memory}",
            "-jar",
            str(jar),
            "-",
            "-",
            "-stdio",
            "-l",
            "en",
            "-norm",
        ]
        self.timeout = timeout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._proc = subprocess.Popen(
            cmd,
            cwd=jar.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)  # the process ended

    def _answer(self) -> str:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            self.close()
            raise MeteorError(f"METEOR did not answer within {self.timeout:.0f}s") from None
        if line is None:
            raise MeteorError("the METEOR Java process stopped (out of memory?)")
        return line

    def _send(self, lines: list[str]) -> None:
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write("".join(line + "\n" for line in lines))
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError) as err:
            raise MeteorError(f"cannot talk to the METEOR process ({err})") from None

    def score(
        self, hypotheses: list[str], references: list[list[str]]
    ) -> tuple[float, list[float]]:
        """Corpus METEOR (the toolkit's aggregate) and the per-sentence scores."""
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference sets")
        if not hypotheses:
            return 0.0, []
        stats: list[str] = []
        for start in range(0, len(hypotheses), _CHUNK):
            chunk = range(start, min(start + _CHUNK, len(hypotheses)))
            self._send(
                [
                    " ||| ".join(
                        ["SCORE", *(sanitize(r) for r in references[i]), sanitize(hypotheses[i])]
                    )
                    for i in chunk
                ]
            )
            stats.extend(self._answer() for _ in chunk)
        self._send(["EVAL ||| " + " ||| ".join(stats)])
        try:
            per_sentence = [float(self._answer()) for _ in hypotheses]
            return float(self._answer()), per_sentence
        except ValueError as err:
            raise MeteorError(f"unexpected answer from METEOR ({err})") from None

    def close(self) -> None:
        """Stop the JVM (idempotent)."""
        if self._proc.poll() is None:
            try:
                if self._proc.stdin:
                    self._proc.stdin.close()
            except OSError:
                pass
            self._proc.kill()
        self._proc.wait()

    def __enter__(self) -> Meteor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
