import json

import pytest
import torch

from interpnet.errors import CheckpointError, InterpnetError
from interpnet.model import InterpNet
from interpnet.storage import load_tensors
from interpnet.training import TrainConfig
from interpnet.workflows.train import resume_run
from tests.helpers import StopAt, tiny_config
from tests.helpers import fit_config as _fit


def test_run_directory_contents_and_log(tiny_cfg, tmp_path):
    model = _fit(tiny_cfg, tmp_path / "run")
    run = tmp_path / "run"
    for name in (
        "train_config.json",
        "training_args.json",
        "interpnet.json",
        "vocab.json",
        "model.safetensors",
        "train_log.jsonl",
        "state/last.safetensors",
        "state/trainer.json",
    ):
        assert (run / name).is_file(), name
    log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"]) for r in log] == [
        ("classifier", 1),
        ("classifier", 2),
        ("explainer", 1),
        ("explainer", 2),
    ]
    assert all("val_loss" in r and "seconds" in r for r in log)
    assert json.loads((run / "state/trainer.json").read_text())["phase"] == "done"
    assert TrainConfig.from_dict(json.loads((run / "train_config.json").read_text())) == tiny_cfg
    # the returned model holds the best weights written to the run directory
    saved = load_tensors(run / "model.safetensors")
    for k, v in model.state_dict().items():
        assert torch.equal(v, saved[k]), k


def test_explainer_loss_goes_down(tiny_birds, tmp_path):
    cfg = tiny_config(tiny_birds, classifier_epochs=1, explainer_epochs=4)
    _fit(cfg, tmp_path / "run")
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    losses = [r["val_loss"] for r in log if r["phase"] == "explainer"]
    assert losses[-1] < losses[0]


def test_same_seed_same_weights_other_seed_differs(tiny_cfg, tiny_run, tmp_path):
    a = load_tensors(tiny_run / "model.safetensors")  # the same config, trained once before
    b = _fit(tiny_cfg, tmp_path / "b").state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    cfg = TrainConfig(**{**tiny_cfg.to_dict(), "seed": 1})
    c = _fit(cfg, tmp_path / "c").state_dict()
    assert not all(torch.equal(a[k], c[k]) for k in a)


@pytest.mark.parametrize("stop_at", [("classifier", 1), ("explainer", 1)])
def test_resume_after_interruption_gives_the_same_model(tiny_cfg, tiny_run, tmp_path, stop_at):
    full = load_tensors(tiny_run / "model.safetensors")  # the same config, uninterrupted
    with pytest.raises(KeyboardInterrupt):
        _fit(tiny_cfg, tmp_path / "cut", callbacks=[StopAt(*stop_at)])
    state = resume_run(tmp_path / "cut", progress=False, log=lambda _: None).state_dict()
    assert all(torch.equal(full[k], state[k]) for k in full)
    log = (tmp_path / "cut/train_log.jsonl").read_text().splitlines()
    assert len(log) == 4  # no epoch trained twice


def test_existing_run_dir_is_not_overwritten(tiny_cfg, tiny_run):
    before = {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()}
    with pytest.raises(InterpnetError, match="already holds a run; resume it"):
        _fit(tiny_cfg, tiny_run)
    assert {p: p.read_bytes() for p in tiny_run.rglob("*") if p.is_file()} == before


def test_resume_without_a_run_is_a_clear_error(tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        resume_run(tmp_path / "nope")


def test_custom_variant_with_unknown_layer(tiny_birds, tmp_path):
    cfg = tiny_config(tiny_birds, variant="custom", layers=["head.hidden.7"])
    with pytest.raises(InterpnetError, match=r"unknown layer name\(s\) \['head.hidden.7'\]"):
        _fit(cfg, tmp_path / "run")
    cfg = tiny_config(tiny_birds, variant="custom", layers=["backbone.blocks.1", "head.logits"])
    model = _fit(cfg, tmp_path / "ok")
    assert model.explainer.config["cond_dim"] == 16 + 6


def test_trained_model_round_trips(tiny_cfg, tmp_path):
    model = _fit(tiny_cfg, tmp_path / "run")
    loaded = InterpNet.from_pretrained(tmp_path / "run")
    x = torch.rand(5, 3, 32, 32)
    assert loaded.explain(x) == model.explain(x)
    assert loaded.explain(x, beam_width=3) == model.explain(x, beam_width=3)
    assert loaded.class_names == model.class_names


def test_config_files_and_unknown_keys(tmp_path):
    (tmp_path / "c.toml").write_text('data_root = "x"\nvariant = "captioning"\nseed = 4\n')
    cfg = TrainConfig.from_file(tmp_path / "c.toml")
    assert (cfg.variant, cfg.seed) == ("captioning", 4)
    (tmp_path / "c.json").write_text('{"data_root": "x", "lr": 1}')
    with pytest.raises(InterpnetError, match=r"unknown option\(s\) \['lr'\]"):
        TrainConfig.from_file(tmp_path / "c.json")
    with pytest.raises(InterpnetError, match="variant"):
        TrainConfig(variant="nope")


def test_variants_share_the_same_classifier(tiny_birds, tmp_path):
    a = _fit(tiny_config(tiny_birds, variant="interpnet"), tmp_path / "a")
    b = _fit(tiny_config(tiny_birds, variant="gve-label", embed_dim=12), tmp_path / "b")
    sa, sb = a.classifier.state_dict(), b.classifier.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_recipes_resolve_and_flags_override():
    from interpnet.training import RECIPES

    paper = TrainConfig(data_root="x", recipe="paper").training_args()
    assert (paper.optimizer, paper.weight_decay, paper.label_smoothing) == ("adam", 0.0, 0.0)
    default = TrainConfig(data_root="x")
    args = default.training_args()
    for key in ("optimizer", "weight_decay", "label_smoothing"):
        assert getattr(args, key) == RECIPES["default"][key]
    assert default.resolved("classifier_dropout") == RECIPES["default"]["classifier_dropout"]
    assert TrainConfig(data_root="x", weight_decay=0.5).training_args().weight_decay == 0.5
    frozen = TrainConfig(data_root="x", freeze_classifier=True).training_args()
    assert frozen.train_classifier is False
    with pytest.raises(InterpnetError, match="unknown recipe"):
        TrainConfig(recipe="mine")
    with pytest.raises(InterpnetError, match="hidden_sizes must be positive"):
        TrainConfig(hidden_sizes=[-3])
    with pytest.raises(InterpnetError, match=r"classifier_dropout must be in \[0, 1\)"):
        TrainConfig(classifier_dropout=1.0)


def test_mlp_dropout_is_off_in_eval_mode_and_keeps_names():
    from interpnet.model import Introspector, MLPClassifier

    plain, dropped = MLPClassifier(10, 3, [8, 6]), MLPClassifier(10, 3, [8, 6], dropout=0.5)
    assert plain.state_dict().keys() == dropped.state_dict().keys()
    dropped.load_state_dict(plain.state_dict())
    x = torch.randn(4, 10)
    plain.eval(), dropped.eval()
    r_plain = Introspector(plain, ["hidden.0", "hidden.1"])(x)[1]
    r_drop = Introspector(dropped, ["hidden.0", "hidden.1"])(x)[1]
    assert torch.equal(r_plain, r_drop)
    dropped.train()
    assert not torch.equal(dropped(x), plain(x))


def test_length_buckets_cover_every_sentence_once_with_less_padding():
    from interpnet.training.batching import length_buckets

    gen = torch.Generator().manual_seed(0)
    lengths = torch.randint(3, 30, (1000,), generator=gen)
    order = torch.randperm(1000, generator=gen)
    batches = length_buckets(order, lengths, 32, torch.Generator().manual_seed(1), pool=10)
    assert sorted(torch.cat(batches).tolist()) == list(range(1000))
    assert all(len(b) <= 32 for b in batches)

    def padded(chunks):
        return sum(int(lengths[c].max()) * len(c) for c in chunks) / int(lengths.sum())

    assert padded(batches) < 1.1 < 1.5 < padded(order.split(32))
    again = length_buckets(order, lengths, 32, torch.Generator().manual_seed(1), pool=10)
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))
    longest = [int(lengths[b].max()) for b in batches]
    assert longest != sorted(longest)  # the batches are shuffled, not served shortest first


def test_class_groups_put_images_of_one_class_together():
    from interpnet.training.batching import class_groups

    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 10, (500,), generator=gen)
    order = torch.randperm(500, generator=gen)
    batches = class_groups(order, labels, 4, 32)
    assert sorted(torch.cat(batches).tolist()) == list(range(500))
    assert all(len(b) == 32 for b in batches[:-1])
    flat = torch.cat(batches)
    # read in groups of 4 from the start, most groups are of one class (remainders aside)
    same = [len(labels[g].unique()) == 1 for g in flat.split(4)]
    assert sum(same) >= 0.75 * len(same)
    random_same = [len(labels[g].unique()) == 1 for g in order.split(4)]
    assert sum(random_same) < 0.05 * len(random_same)
    # a batch holds several classes, in an order that follows the shuffle
    assert all(len(labels[b].unique()) >= 4 for b in batches[:-1])
    other = class_groups(torch.randperm(500, generator=gen), labels, 4, 32)
    assert not torch.equal(torch.cat(other), flat)
    assert class_groups(order[:0], labels, 4, 32) == []


def test_a_callback_can_end_a_phase_and_sees_every_epoch(tiny_cfg, tmp_path):
    from interpnet.training import Callback

    class OneExplainerEpoch(Callback):
        seen: list = []

        def should_stop(self, phase, state):
            return phase == "explainer" and state.epoch >= 1

        def on_epoch_end(self, phase, epoch, record):
            self.seen.append((phase, epoch, round(record["train_loss"], 6)))

    stop = OneExplainerEpoch()
    _fit(tiny_cfg, tmp_path / "run", callbacks=[stop])
    log = [json.loads(line) for line in (tmp_path / "run/train_log.jsonl").read_text().splitlines()]
    assert [(r["phase"], r["epoch"]) for r in log] == [
        ("classifier", 1),
        ("classifier", 2),
        ("explainer", 1),
    ]
    assert stop.seen == [(r["phase"], r["epoch"], round(r["train_loss"], 6)) for r in log]
