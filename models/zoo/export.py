"""Exports the model zoo with the local PyTorch (Debian's torch under /usr/bin/python3).

usage: /usr/bin/python3 models/zoo/export.py OUTDIR [--only a,b] [--list] [--large]
Writes OUTDIR/<name>.onnx and OUTDIR/<name>.io.json (a tensor bundle: inputs and torch's outputs) per model,
and OUTDIR/manifest.json describing them. Weights are random (seeded): no downloads.
"""
import argparse
import base64
import json
import os
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blocks  # noqa: E402

warnings.filterwarnings("ignore")
OPSET = 17


def tv():
    import torchvision

    return torchvision.models


def img(n=1, c=3, h=64, w=64):
    return torch.randn(n, c, h, w)


NCHW_DYN = {0: "batch", 2: "height", 3: "width"}

# name: (builder, inputs builder, input names, output names, dynamic axes, notes)
ZOO = {
    "resnet18": (lambda: tv().resnet18(weights=None), lambda: (img(),), ["input"], ["logits"], {"input": NCHW_DYN}, "torchvision"),
    "mobilenet_v3_small": (lambda: tv().mobilenet_v3_small(weights=None), lambda: (img(),), ["input"], ["logits"], {"input": NCHW_DYN}, "torchvision, HardSwish/HardSigmoid, SE"),
    "efficientnet_b0": (lambda: tv().efficientnet_b0(weights=None), lambda: (img(),), ["input"], ["logits"], {"input": NCHW_DYN}, "torchvision, SiLU, SE"),
    "squeezenet": (lambda: tv().squeezenet1_1(weights=None), lambda: (img(),), ["input"], ["logits"], {"input": {0: "batch"}}, "torchvision"),
    "shufflenet": (lambda: tv().shufflenet_v2_x0_5(weights=None), lambda: (img(),), ["input"], ["logits"], {"input": NCHW_DYN}, "torchvision, channel shuffle"),
    "convnext": (
        lambda: __import__("torchvision.models.convnext", fromlist=["ConvNeXt"]).ConvNeXt(
            [__import__("torchvision.models.convnext", fromlist=["CNBlockConfig"]).CNBlockConfig(32, 64, 2),
             __import__("torchvision.models.convnext", fromlist=["CNBlockConfig"]).CNBlockConfig(64, None, 2)],
            num_classes=10),
        lambda: (img(),), ["input"], ["logits"], {"input": NCHW_DYN}, "torchvision ConvNeXt, small config: LayerNorm2d, depthwise 7x7, GELU",
    ),
    "vit": (
        lambda: __import__("torchvision.models.vision_transformer", fromlist=["VisionTransformer"]).VisionTransformer(
            image_size=32, patch_size=8, num_layers=2, num_heads=4, hidden_dim=64, mlp_dim=128, num_classes=10),
        lambda: (img(1, 3, 32, 32),), ["input"], ["logits"], {"input": {0: "batch"}}, "torchvision ViT, small config: nn.MultiheadAttention",
    ),
    "swin": (
        lambda: __import__("torchvision.models.swin_transformer", fromlist=["SwinTransformer"]).SwinTransformer(
            patch_size=[4, 4], embed_dim=32, depths=[2, 2], num_heads=[2, 4], window_size=[4, 4], num_classes=10),
        lambda: (img(1, 3, 64, 64),), ["input"], ["logits"], {"input": {0: "batch"}}, "torchvision Swin, small config: shifted windows",
    ),
    "unet": (
        lambda: blocks.UNet2DConditionModel(),
        lambda: (torch.randn(1, 4, 16, 16), torch.tensor([10.0]), torch.randn(1, 8, 32)),
        ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
        {"sample": NCHW_DYN, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "seq"}},
        "diffusers-style UNet2DConditionModel: ResnetBlock2D, GroupNorm+SiLU, timestep embedding, cross-attention, GEGLU",
    ),
    "unet_static": (
        lambda: blocks.UNet2DConditionModel(),
        lambda: (torch.randn(1, 4, 16, 16), torch.tensor([10.0]), torch.randn(1, 8, 32)),
        ["sample", "timestep", "encoder_hidden_states"], ["out_sample"], {"out_sample": {}},
        "the zoo UNet exported with every size fixed (no dynamic axes): 16x16 latent, 8-token context, batch 1",
    ),
    "vae_static": (
        lambda: blocks.Decoder(), lambda: (torch.randn(1, 4, 8, 8),), ["latent"], ["image"], {"image": {}},
        "the zoo VAE decoder exported with every size fixed (8x8 latent, batch 1)",
    ),
    "bert_static": (
        lambda: blocks.BertEncoder(),
        lambda: (torch.randint(0, 100, (2, 12)), torch.tensor([[1] * 12, [1] * 8 + [0] * 4])),
        ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"], {"last_hidden_state": {}, "pooler_output": {}},
        "the zoo BERT encoder exported with every size fixed (batch 2, 12 tokens)",
    ),
    "unet_tiny": (
        lambda: blocks.UNet2DConditionModel(ch=(8, 16), cross=16),
        lambda: (torch.randn(1, 4, 8, 8), torch.tensor([10.0]), torch.randn(1, 4, 16)),
        ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
        {"sample": NCHW_DYN, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "seq"}},
        "the diffusers-style UNet at the smallest width (committed in models/)",
    ),
    "mid_block": (
        lambda: blocks.UNetMidBlock2D(), lambda: (torch.randn(2, 64, 8, 8), torch.randn(2, 128)), ["hidden_states", "temb"],
        ["out"], {"hidden_states": NCHW_DYN, "temb": {0: "batch"}}, "diffusers-style UNetMidBlock2D: two ResnetBlock2D, multi-head spatial attention",
    ),
    "vae_decoder": (
        lambda: blocks.Decoder(), lambda: (torch.randn(1, 4, 8, 8),), ["latent"], ["image"], {"latent": NCHW_DYN},
        "diffusers-style VAE decoder with single-head attention",
    ),
    "bert": (
        lambda: blocks.BertEncoder(),
        lambda: (torch.randint(0, 100, (2, 12)), torch.tensor([[1] * 12, [1] * 8 + [0] * 4])),
        ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
        "BERT-style encoder with padding mask",
    ),
    "gpt": (
        lambda: blocks.GPT(), lambda: (torch.randint(0, 128, (1, 16)),), ["input_ids"], ["logits"],
        {"input_ids": {0: "batch", 1: "seq"}}, "GPT-style decoder: causal mask, tanh GELU, tied head",
    ),
    "rnn": (
        lambda: blocks.RNNTagger(), lambda: (torch.randint(0, 50, (2, 7)),), ["tokens"], ["tags", "h_n"],
        {"tokens": {0: "batch", 1: "seq"}, "tags": {0: "batch", 1: "seq"}, "h_n": {1: "batch"}}, "bidirectional LSTM + GRU",
    ),
    "upsampler": (
        lambda: blocks.Upsampler(), lambda: (img(1, 3, 16, 16),), ["input"], ["output"], {"input": NCHW_DYN},
        "ConvTranspose2d + PixelShuffle + PReLU",
    ),
}

LARGE = {
    "unet_large": (
        lambda: blocks.UNet2DConditionModel(ch=(128, 256), cross=768),
        lambda: (torch.randn(1, 4, 32, 32), torch.tensor([10.0]), torch.randn(1, 77, 768)),
        ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
        {"sample": NCHW_DYN, "timestep": {0: "batch"}, "encoder_hidden_states": {0: "batch", 1: "seq"}},
        "the diffusers-style UNet at 128/256 channels, 32x32 latent, 77x768 text context (benchmark only)",
    ),
    "bert_base": (
        lambda: blocks.BertEncoder(vocab=30522, hidden=768, heads=12, layers=12, inter=3072, max_pos=512),
        lambda: (torch.randint(0, 30522, (1, 128)), torch.tensor([[1] * 120 + [0] * 8])),
        ["input_ids", "attention_mask"], ["last_hidden_state", "pooler_output"],
        {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}},
        "BERT-base-sized encoder (12 layers, 768 hidden, 12 heads) at sequence 128 (benchmark only)",
    ),
    "vit_b_16": (lambda: tv().vit_b_16(weights=None), lambda: (img(1, 3, 224, 224),), ["input"], ["logits"], {"input": {0: "batch"}}, "torchvision vit_b_16 (benchmark only)"),
}


def enc(a):
    a = np.ascontiguousarray(a)
    name = "bool" if a.dtype == np.bool_ else str(a.dtype)
    return {"dtype": name, "shape": list(a.shape), "data": base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode()}


def flatten(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flatten(o)]
    return [out]


def export(name, spec, outdir):
    build, make_inputs, in_names, out_names, dyn, notes = spec
    torch.manual_seed(0)
    model = build().eval()
    inputs = make_inputs()
    with torch.no_grad():
        outs = flatten(model(*inputs))
    path = os.path.join(outdir, name + ".onnx")
    tmp = path + ".tmp"
    dyn = dict(dyn)
    for o in out_names:
        dyn.setdefault(o, {0: "batch"})
    # Exported with autograd on: under no_grad, nn.MultiheadAttention takes a fused fast path the exporter lacks.
    if True:
        torch.onnx.export(model, inputs, tmp, opset_version=OPSET, input_names=in_names, output_names=out_names,
                          dynamic_axes=dyn, do_constant_folding=True)
    os.replace(tmp, path)
    bundle = {"inputs": {n: enc(t.numpy()) for n, t in zip(in_names, inputs)},
              "outputs": {n: enc(t.numpy()) for n, t in zip(out_names, outs)}}
    with open(os.path.join(outdir, name + ".io.json"), "w") as f:
        json.dump(bundle, f)
    params = sum(p.numel() for p in model.parameters())
    state = {k: list(v.shape) for k, v in model.state_dict().items()}
    # What the fusions should find: one per module of these kinds (BertLayer calls F.gelu once).
    kinds = {"attention": {"Attention", "VAEAttention", "BertSelfAttention", "CausalSelfAttention", "MultiheadAttention"},
             "group_norm": {"GroupNorm"}, "layer_norm": {"LayerNorm"}, "gelu": {"GELU", "NewGELU", "GEGLU", "BertLayer"}}
    modules = [type(m).__name__ for m in model.modules()]
    # The module classes a port writes: not containers (ModuleList, a Sequential without a forward of its own), not
    # torch.nn's leaf layers (a port calls mint.nn's); what is left has computation of its own.
    def own(m):
        if isinstance(m, (torch.nn.ModuleList, torch.nn.ModuleDict)):
            return False
        if isinstance(m, torch.nn.Sequential) and type(m).forward is torch.nn.Sequential.forward:
            return False
        return not (type(m).__module__.startswith("torch.nn.modules") and not list(m.children()))
    module_classes = sorted({type(m).__name__ for m in model.modules() if own(m)})
    expected = {k: sum(1 for c in modules if c in names) for k, names in kinds.items()}
    return {"name": name, "file": name + ".onnx", "bundle": name + ".io.json", "notes": notes, "parameters": params,
            "state_dict": state, "fusions_expected": expected,
            "modules": sum(1 for _ in model.named_modules()) - 1, "module_classes": module_classes,
            "torch": torch.__version__, "opset": OPSET}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--only", default="")
    ap.add_argument("--large", action="store_true", help="export the benchmark-only large models instead")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    table = LARGE if args.large else ZOO
    if args.list:
        print("\n".join(table))
        return
    names = [n for n in args.only.split(",") if n] or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        sys.exit(f"unknown zoo model(s): {', '.join(unknown)}")
    os.makedirs(args.outdir, exist_ok=True)
    manifest_path = os.path.join(args.outdir, "manifest.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    for n in names:
        t0 = time.time()
        manifest[n] = export(n, table[n], args.outdir)
        print(f"exported {n} in {time.time() - t0:.1f}s", flush=True)
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
