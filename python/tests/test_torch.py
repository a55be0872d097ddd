"""eave.compile on torch.nn.Module: in-memory export (opset 17) with names kept, dynamic dims,
torch tensors in and out, and export failures that name the PyTorch op."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import eave  # noqa: E402


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = torch.nn.Linear(8, 16)
        self.fc2 = torch.nn.Linear(16, 4)

    def forward(self, features):
        return self.fc2(torch.relu(self.fc1(features)))


class TwoHeads(torch.nn.Module):
    def forward(self, a, b):
        return a + b, a * b


class Spectrum(torch.nn.Module):
    def forward(self, x):
        return torch.fft.rfft(x).abs()


def test_module_compiles_with_its_names_and_matches_torch():
    module = MLP()
    x = torch.randn(2, 8)
    m = eave.compile(module, example_inputs=x)
    assert [i.name for i in m.inputs] == ["features"]
    assert [o.name for o in m.outputs] == ["output"]
    y = m(x)
    assert isinstance(y, torch.Tensor)
    with torch.no_grad():
        np.testing.assert_allclose(y.numpy(), module(x).numpy(), rtol=1e-4, atol=1e-5)
    ny = m(x.numpy())
    assert isinstance(ny, np.ndarray)


def test_dynamic_dims_give_a_symbolic_batch():
    module = MLP()
    m = eave.compile(module, example_inputs=(torch.randn(2, 8),),
                     dynamic_dims={"features": {0: "batch"}})
    assert m.inputs[0].shape == ("batch", 8)
    x = torch.randn(7, 8)
    with torch.no_grad():
        np.testing.assert_allclose(m(x).numpy(), module(x).numpy(), rtol=1e-4, atol=1e-5)


def test_tuple_outputs_and_keyword_inputs():
    m = eave.compile(TwoHeads(), example_inputs={"a": torch.ones(3), "b": torch.ones(3)})
    assert [i.name for i in m.inputs] == ["a", "b"]
    assert [o.name for o in m.outputs] == ["output_0", "output_1"]
    s, p = m(a=torch.tensor([1.0, 2, 3]), b=torch.tensor([2.0, 2, 2]))
    assert s.tolist() == [3, 4, 5] and p.tolist() == [2, 4, 6]
    named = eave.compile(TwoHeads(), example_inputs=(torch.ones(3), torch.ones(3)),
                         output_names=["total", "product"])
    assert [o.name for o in named.outputs] == ["total", "product"]


def test_input_shapes_stand_in_for_example_inputs():
    m = eave.compile(MLP(), input_shapes={"features": (3, 8)})
    assert m.inputs[0].shape == (3, 8)


def test_export_failure_names_the_pytorch_op():
    with pytest.raises(eave.Error) as e:
        eave.compile(Spectrum(), example_inputs=torch.randn(4, 8))
    assert "aten::fft_rfft" in str(e.value)
    assert "cannot export Spectrum to ONNX (opset 17)" in str(e.value)


def test_module_without_example_inputs_is_an_error():
    with pytest.raises(eave.Error, match="needs example_inputs"):
        eave.compile(MLP())
    with pytest.raises(eave.Error, match="dynamic_dims names 'x'"):
        eave.compile(MLP(), example_inputs=torch.randn(2, 8), dynamic_dims={"x": {0: "n"}})
