"""Run directories and flat config files written by interpnet before the redesign still load:
tests/fixtures/run-2026-12-05 is a tiny run made by the code of 2026-12-05 (its explainer config
without a type, its train_config.json flat and without the later keys), flat-config.toml a config
file in that day's format."""

import json
import shutil
from pathlib import Path

import torch

from interpnet import InterpNet, Run
from interpnet.cli.main import main
from interpnet.model import LRCNExplainer
from interpnet.training import TrainConfig
from interpnet.workflows.run import run_config

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
OLD_RUN = FIXTURES / "run-2026-12-05"


def test_an_old_run_directory_loads_and_explains(tiny_birds):
    model = InterpNet.from_pretrained(OLD_RUN)
    assert isinstance(model.explainer, LRCNExplainer)
    assert "type" not in json.loads((OLD_RUN / "interpnet.json").read_text())["explainer"]
    cfg = run_config(OLD_RUN, str(tiny_birds))
    assert cfg.data_root == str(tiny_birds) and cfg.variant == "interpnet"
    assert cfg.explainer_config().kind == "lrcn"  # a key the old file does not have
    opened = Run(OLD_RUN, str(tiny_birds), progress=False, log=lambda _: None)
    out = opened.model.explain(opened.split("test").batch(torch.arange(4)))
    assert len(out) == 4 and all(e.sentence for e in out)


def test_an_old_run_directory_is_evaluated_and_explained_by_the_cli(tiny_birds, tmp_path):
    run = tmp_path / "old"
    shutil.copytree(OLD_RUN, run)
    quick = ["--no-java", "--no-human", "--no-retrieval", "--quiet"]
    assert main(["evaluate", str(run), "--data-root", str(tiny_birds), *quick]) == 0
    assert json.loads((run / "metrics.json").read_text())["images"] == 12
    image = next((tiny_birds / "CUB_200_2011" / "images").rglob("*.png"))
    assert main(["explain", str(run), str(image), "--quiet"]) == 0


def test_an_old_flat_config_file_loads():
    cfg = TrainConfig.from_file(FIXTURES / "flat-config.toml")
    assert cfg.recipe == "paper" and cfg.rewards == {"cider": 1.0, "class-predicted": 0.5}
    args = cfg.training_args()
    assert args.discriminative_epochs == 1 and args.optimizer == "adam"  # the paper's recipe
    assert cfg.explainer_config().hidden_dim == 16 and cfg.conditioning().num_hidden == 2
    again = TrainConfig.from_dict(json.loads((OLD_RUN / "train_config.json").read_text()))
    assert again.image_size == 32 and again.explainer_config().embed_dim == 8
