"""Workflows: what a user does with a run directory or data in one call: train from a flat
config (:mod:`~interpnet.workflows.train`: also resume and fine-tune), explain
(:mod:`~interpnet.workflows.explain`), evaluate (:mod:`~interpnet.workflows.evaluate`, with the
judges and the counterfactual test) and open a run's data (:mod:`~interpnet.workflows.run`).
The CLI maps its arguments onto these functions; the report is built on them."""
