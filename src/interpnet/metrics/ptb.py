"""PTB tokenization as the MS-COCO toolkit does it (Stanford PTBTokenizer, lowercased,
punctuation removed), run with its temporary file in the system temp folder rather than inside
the installed package, so it works where site-packages is read-only."""

from __future__ import annotations

import os
import subprocess
import tempfile

from interpnet.errors import InterpnetError
from interpnet.metrics.java import java_executable, toolkit_file
from interpnet.storage import writing
from interpnet.text import tokenize

# The toolkit's list of punctuation tokens removed after tokenization.
PUNCTUATIONS = {
    "''",
    "'",
    "``",
    "`",
    "-LRB-",
    "-RRB-",
    "-LCB-",
    "-RCB-",
    ".",
    "?",
    "!",
    ",",
    ":",
    "-",
    "--",
    "...",
    ";",
}


def ptb_tokenize(sentences: list[str]) -> list[str]:
    """Tokenize each sentence as the MS-COCO toolkit does; returns space-joined tokens."""
    jar = toolkit_file("tokenizer/stanford-corenlp-3.4.1.jar")
    lines = [" ".join(s.split()) for s in sentences]  # one line each, no inner newlines
    fd, path = tempfile.mkstemp(prefix="interpnet-ptb-", suffix=".txt")
    try:
        with writing(path), os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))
        result = subprocess.run(
            [
                java_executable(),
                "-cp",
                str(jar),
                "edu.stanford.nlp.process.PTBTokenizer",
                "-preserveLines",
                "-lowerCase",
                path,
            ],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=600,
        )
    finally:
        os.unlink(path)
    if result.returncode != 0:
        raise InterpnetError(f"PTB tokenizer failed: {result.stderr.strip()[:300]}")
    out = result.stdout.split("\n")
    if len(out) < len(lines):
        raise InterpnetError(f"PTB tokenizer returned {len(out)} lines for {len(lines)} sentences")
    return [
        " ".join(w for w in line.split() if w not in PUNCTUATIONS) for line in out[: len(lines)]
    ]


def fallback_tokenize(sentences: list[str]) -> list[str]:
    """Without Java: interpnet's tokenizer with the same punctuation removed (not identical to
    PTB, so scores computed on it are labelled as such)."""
    return [
        " ".join(t for t in tokenize(s, end_with_period=False) if t not in PUNCTUATIONS)
        for s in sentences
    ]
