"""examples/explain_your_classifier.py, run at small sizes as a user would run it."""

from tests.helpers import load_example


def test_explain_your_classifier_example(tiny_birds, tmp_path, capsys):
    summary = load_example("explain_your_classifier").main(
        [
            "--data",
            str(tiny_birds),
            "--out",
            str(tmp_path / "run"),
            "--image-size",
            "32",
            "--width",
            "8",
            "--classifier-epochs",
            "2",
            "--explainer-epochs",
            "2",
            "--hidden-dim",
            "16",
            "--no-java",
            "--quiet",
        ]
    )
    assert summary["classifier_frozen"] is True
    assert 0 <= summary["test_accuracy"] <= 1 and summary["std_CIDEr-D"] >= 0
    out = capsys.readouterr().out
    assert "classifier epoch 2/2" in out and ".png: " in out
    assert (tmp_path / "run" / "metrics.json").is_file()
    assert (tmp_path / "run-birdnet.safetensors").is_file()
