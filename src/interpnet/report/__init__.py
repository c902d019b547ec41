"""The HTML report of a run: metrics, figures, a gallery with per-word attribution."""
