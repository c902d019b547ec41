"""Device selection and the GPU path: bf16 autocast on CUDA only, pinned copies; the CUDA
tests skip on machines without a GPU."""

from __future__ import annotations

import pytest
import torch

from interpnet.devices import autocast_dtype, mixed_precision, resolve_device, to_device
from interpnet.errors import ConfigError
from tests.helpers import fit_config, tiny_config

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def test_the_cpu_runs_in_float32():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu) is None
    a = torch.randn(4, 4)
    with mixed_precision(cpu):
        assert (a @ a).dtype == torch.float32
    assert torch.equal(to_device(a, "cpu"), a)
    assert resolve_device("cpu") == cpu
    if not torch.cuda.is_available():
        assert resolve_device("auto") == cpu
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")


@pytest.mark.gpu
@cuda
def test_cuda_trains_decodes_and_evaluates_in_bf16(tiny_birds, tmp_path):
    from interpnet.workflows.evaluate import evaluate_run

    gpu = torch.device("cuda")
    assert autocast_dtype(gpu) in (torch.bfloat16, None)
    with mixed_precision(gpu):
        a = torch.randn(8, 8, device=gpu)
        assert (a @ a).dtype == (autocast_dtype(gpu) or torch.float32)
    x = torch.randn(3, 5)
    assert torch.equal(to_device(x, gpu).cpu(), x)
    run = tmp_path / "gpu"
    model = fit_config(tiny_config(tiny_birds, device="cuda", explainer_epochs=2), run)
    assert next(model.parameters()).device.type == "cuda"
    metrics = evaluate_run(run, "test", use_java=False, human=False, progress=False, device="cuda")
    assert metrics["images"] > 0 and metrics["explanations"]["specificity"]["distinct_share"] > 0
