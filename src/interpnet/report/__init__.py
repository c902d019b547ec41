"""Decoding whole splits and presenting explanations."""

from interpnet.report.explanations import (
    explain_files,
    explain_inputs,
    explain_split,
    format_samples,
    read_jsonl,
    split_accuracy,
    write_jsonl,
)

__all__ = [
    "explain_files",
    "explain_inputs",
    "explain_split",
    "format_samples",
    "read_jsonl",
    "split_accuracy",
    "write_jsonl",
]
