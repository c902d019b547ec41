"""The faithfulness benchmark as one package: ``python -m benchmarks.faithful ENTRY [args]``
(``python -m benchmarks.faithful`` lists the entries)."""
