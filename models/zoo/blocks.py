"""Model definitions for the zoo, written from the architectures (diffusers-style UNet/VAE, BERT, GPT, RNNs)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def timestep_embedding(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


class TimestepEmbedding(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.linear_1 = nn.Linear(c_in, c_out)
        self.linear_2 = nn.Linear(c_out, c_out)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


class ResnetBlock2D(nn.Module):
    def __init__(self, c_in, c_out, temb, groups=8, eps=1e-6):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in, eps=eps)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, c_out) if temb else None
        self.norm2 = nn.GroupNorm(groups, c_out, eps=eps)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class Attention(nn.Module):
    """diffusers Attention with the pre-2.0 processor: heads folded into the batch, baddbmm scores."""

    def __init__(self, query_dim, cross_dim=None, heads=2, dim_head=16):
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.to_q = nn.Linear(query_dim, inner, bias=False)
        self.to_k = nn.Linear(cross_dim or query_dim, inner, bias=False)
        self.to_v = nn.Linear(cross_dim or query_dim, inner, bias=False)
        self.to_out = nn.ModuleList([nn.Linear(inner, query_dim), nn.Dropout(0.0)])

    def head_to_batch_dim(self, x):
        b, n, d = x.shape
        h = self.heads
        return x.reshape(b, n, h, d // h).permute(0, 2, 1, 3).reshape(b * h, n, d // h)

    def batch_to_head_dim(self, x):
        bh, n, d = x.shape
        h = self.heads
        return x.reshape(bh // h, h, n, d).permute(0, 2, 1, 3).reshape(bh // h, n, d * h)

    def forward(self, x, context=None):
        context = x if context is None else context
        q = self.head_to_batch_dim(self.to_q(x))
        k = self.head_to_batch_dim(self.to_k(context))
        v = self.head_to_batch_dim(self.to_v(context))
        empty = torch.empty(q.shape[0], q.shape[1], k.shape[1], dtype=q.dtype)
        scores = torch.baddbmm(empty, q, k.transpose(-1, -2), beta=0, alpha=self.scale)
        probs = scores.softmax(dim=-1)
        out = self.batch_to_head_dim(torch.bmm(probs, v))
        return self.to_out[1](self.to_out[0](out))


class GEGLU(nn.Module):
    def __init__(self, dim_in, dim_out):
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x):
        h, gate = self.proj(x).chunk(2, dim=-1)
        return h * F.gelu(gate)


class FeedForward(nn.Module):
    def __init__(self, dim, mult=4):
        super().__init__()
        self.net = nn.ModuleList([GEGLU(dim, dim * mult), nn.Dropout(0.0), nn.Linear(dim * mult, dim)])

    def forward(self, x):
        for m in self.net:
            x = m(x)
        return x


class BasicTransformerBlock(nn.Module):
    def __init__(self, dim, cross_dim, heads, dim_head):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, None, heads, dim_head)
        self.norm2 = nn.LayerNorm(dim)
        self.attn2 = Attention(dim, cross_dim, heads, dim_head)
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x, context):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), context) + x
        return self.ff(self.norm3(x)) + x


class Transformer2DModel(nn.Module):
    def __init__(self, channels, cross_dim, heads=2, groups=8):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList([BasicTransformerBlock(channels, cross_dim, heads, channels // heads)])
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x, context):
        b, c, h, w = x.shape
        res = x
        x = self.proj_in(self.norm(x))
        x = x.permute(0, 2, 3, 1).reshape(b, h * w, c)
        for blk in self.transformer_blocks:
            x = blk(x, context)
        x = x.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return self.proj_out(x) + res


class Downsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2, padding=1)

    def forward(self, x):
        return self.conv(x)


class Upsample2D(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class CrossAttnDownBlock2D(nn.Module):
    def __init__(self, c_in, c_out, temb, cross, add_down):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c_in, c_out, temb)])
        self.attentions = nn.ModuleList([Transformer2DModel(c_out, cross)])
        self.downsamplers = nn.ModuleList([Downsample2D(c_out)]) if add_down else None

    def forward(self, x, temb, context):
        skips = []
        for r, a in zip(self.resnets, self.attentions):
            x = a(r(x, temb), context)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UNetMidBlock2DCrossAttn(nn.Module):
    def __init__(self, c, temb, cross):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb), ResnetBlock2D(c, c, temb)])
        self.attentions = nn.ModuleList([Transformer2DModel(c, cross)])

    def forward(self, x, temb, context):
        x = self.resnets[0](x, temb)
        x = self.attentions[0](x, context)
        return self.resnets[1](x, temb)


class CrossAttnUpBlock2D(nn.Module):
    def __init__(self, c_in, c_skip, c_out, temb, cross, n, add_up):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D((c_in if i == 0 else c_out) + c_skip[i], c_out, temb) for i in range(n)])
        self.attentions = nn.ModuleList([Transformer2DModel(c_out, cross) for _ in range(n)])
        self.upsamplers = nn.ModuleList([Upsample2D(c_out)]) if add_up else None

    def forward(self, x, skips, temb, context):
        for r, a in zip(self.resnets, self.attentions):
            x = torch.cat([x, skips.pop()], dim=1)
            x = a(r(x, temb), context)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class UNet2DConditionModel(nn.Module):
    """A small diffusers-style conditional UNet: two resolutions, cross-attention everywhere."""

    def __init__(self, in_ch=4, ch=(32, 64), cross=32):
        super().__init__()
        temb = ch[0] * 4
        self.ch0 = ch[0]
        self.conv_in = nn.Conv2d(in_ch, ch[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.down_blocks = nn.ModuleList([
            CrossAttnDownBlock2D(ch[0], ch[0], temb, cross, True),
            CrossAttnDownBlock2D(ch[0], ch[1], temb, cross, False),
        ])
        self.mid_block = UNetMidBlock2DCrossAttn(ch[1], temb, cross)
        self.up_blocks = nn.ModuleList([
            CrossAttnUpBlock2D(ch[1], [ch[1], ch[0]], ch[1], temb, cross, 2, True),
            CrossAttnUpBlock2D(ch[1], [ch[0], ch[0]], ch[0], temb, cross, 2, False),
        ])
        self.conv_norm_out = nn.GroupNorm(8, ch[0], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[0], in_ch, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        temb = self.time_embedding(timestep_embedding(timestep, self.ch0))
        x = self.conv_in(sample)
        skips = [x]
        for blk in self.down_blocks:
            x, s = blk(x, temb, encoder_hidden_states)
            skips.extend(s)
        x = self.mid_block(x, temb, encoder_hidden_states)
        for blk in self.up_blocks:
            n = len(blk.resnets)
            mine, skips = skips[-n:], skips[:-n]
            x = blk(x, mine, temb, encoder_hidden_states)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class SpatialAttention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, with a residual (a mid block's attention)."""

    def __init__(self, c, heads, groups=8, eps=1e-6):
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, c, eps=eps)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c)])

    def forward(self, x):
        b, c, h, w = x.shape
        res = x
        x = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = [t.view(b, -1, self.heads, c // self.heads).transpose(1, 2) for t in (self.to_q(x), self.to_k(x), self.to_v(x))]
        p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(c // self.heads), dim=-1)
        o = (p @ v).transpose(1, 2).reshape(b, -1, c)
        return self.to_out[0](o).transpose(1, 2).reshape(b, c, h, w) + res


class UNetMidBlock2D(nn.Module):
    """resnet, multi-head attention, resnet; the time embedding reaches both resnets."""

    def __init__(self, c=64, temb=128, heads=4):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, temb), ResnetBlock2D(c, c, temb)])
        self.attentions = nn.ModuleList([SpatialAttention(c, heads)])

    def forward(self, hidden_states, temb):
        x = self.resnets[0](hidden_states, temb)
        return self.resnets[1](self.attentions[0](x), temb)


class VAEAttention(nn.Module):
    """The VAE's single-head spatial attention (4-D per-head matmul form)."""

    def __init__(self, c, groups=8):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, c, eps=1e-6)
        self.to_q = nn.Linear(c, c)
        self.to_k = nn.Linear(c, c)
        self.to_v = nn.Linear(c, c)
        self.to_out = nn.ModuleList([nn.Linear(c, c), nn.Dropout(0.0)])

    def forward(self, x):
        b, c, h, w = x.shape
        res = x
        x = self.group_norm(x).view(b, c, h * w).transpose(1, 2)
        q, k, v = self.to_q(x), self.to_k(x), self.to_v(x)
        p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(c), dim=-1)
        o = self.to_out[0](torch.matmul(p, v))
        return o.transpose(1, 2).reshape(b, c, h, w) + res


class UpDecoderBlock2D(nn.Module):
    def __init__(self, c_in, c_out, add_up):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c_in, c_out, 0), ResnetBlock2D(c_out, c_out, 0)])
        self.upsamplers = nn.ModuleList([Upsample2D(c_out)]) if add_up else None

    def forward(self, x):
        for r in self.resnets:
            x = r(x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x)
        return x


class VAEMidBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(c, c, 0), ResnetBlock2D(c, c, 0)])
        self.attentions = nn.ModuleList([VAEAttention(c)])

    def forward(self, x):
        return self.resnets[1](self.attentions[0](self.resnets[0](x)))


class Decoder(nn.Module):
    """diffusers-style VAE decoder (AutoencoderKL.decoder) at a small width."""

    def __init__(self, latent=4, ch=(64, 32), out_ch=3):
        super().__init__()
        self.conv_in = nn.Conv2d(latent, ch[0], 3, padding=1)
        self.mid_block = VAEMidBlock(ch[0])
        self.up_blocks = nn.ModuleList([UpDecoderBlock2D(ch[0], ch[0], True), UpDecoderBlock2D(ch[0], ch[1], False)])
        self.conv_norm_out = nn.GroupNorm(8, ch[1], eps=1e-6)
        self.conv_out = nn.Conv2d(ch[1], out_ch, 3, padding=1)

    def forward(self, z):
        x = self.mid_block(self.conv_in(z))
        for b in self.up_blocks:
            x = b(x)
        return self.conv_out(F.silu(self.conv_norm_out(x)))


class BertSelfAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.head_dim = hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)

    def split(self, x):
        b, n, _ = x.shape
        return x.view(b, n, self.heads, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, x, mask):
        q, k, v = self.split(self.query(x)), self.split(self.key(x)), self.split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + mask
        ctx = torch.matmul(scores.softmax(-1), v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(ctx.shape[0], ctx.shape[1], -1)


class BertLayer(nn.Module):
    def __init__(self, hidden, heads, inter):
        super().__init__()
        self.attention = BertSelfAttention(hidden, heads)
        self.attention_output = nn.Linear(hidden, hidden)
        self.attention_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.intermediate = nn.Linear(hidden, inter)
        self.output = nn.Linear(inter, hidden)
        self.output_norm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, mask):
        x = self.attention_norm(self.attention_output(self.attention(x, mask)) + x)
        return self.output_norm(self.output(F.gelu(self.intermediate(x))) + x)


class BertEncoder(nn.Module):
    """BERT-style encoder: embeddings, padding mask as an additive bias, post-norm layers, erf GELU, pooler."""

    def __init__(self, vocab=100, hidden=64, heads=4, layers=2, inter=128, max_pos=64):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden)
        self.position_embeddings = nn.Embedding(max_pos, hidden)
        self.token_type_embeddings = nn.Embedding(2, hidden)
        self.embeddings_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layer = nn.ModuleList([BertLayer(hidden, heads, inter) for _ in range(layers)])
        self.pooler = nn.Linear(hidden, hidden)

    def forward(self, input_ids, attention_mask):
        n = input_ids.shape[1]
        pos = torch.arange(n, dtype=torch.long).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos) + self.token_type_embeddings(torch.zeros_like(input_ids))
        x = self.embeddings_norm(x)
        mask = (1.0 - attention_mask[:, None, None, :].float()) * -10000.0
        for layer in self.layer:
            x = layer(x, mask)
        return x, torch.tanh(self.pooler(x[:, 0]))


class NewGELU(nn.Module):
    def forward(self, x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class CausalSelfAttention(nn.Module):
    def __init__(self, dim, heads, max_len):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(dim, 3 * dim)
        self.c_proj = nn.Linear(dim, dim)
        self.register_buffer("bias", torch.tril(torch.ones(max_len, max_len)).view(1, 1, max_len, max_len))

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = [z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v)]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.shape[-1]))
        att = att.masked_fill(self.bias[:, :, :t, :t] == 0, float("-inf"))
        y = att.softmax(dim=-1) @ v
        return self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))


class GPTBlock(nn.Module):
    def __init__(self, dim, heads, max_len):
        super().__init__()
        self.ln_1 = nn.LayerNorm(dim)
        self.attn = CausalSelfAttention(dim, heads, max_len)
        self.ln_2 = nn.LayerNorm(dim)
        self.mlp = nn.ModuleDict(dict(c_fc=nn.Linear(dim, 4 * dim), act=NewGELU(), c_proj=nn.Linear(4 * dim, dim)))

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp.c_proj(self.mlp.act(self.mlp.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    """GPT-2 style decoder: learned positions, causal mask via a tril buffer, tanh GELU, tied LM head."""

    def __init__(self, vocab=128, dim=64, heads=4, layers=2, max_len=64):
        super().__init__()
        self.wte = nn.Embedding(vocab, dim)
        self.wpe = nn.Embedding(max_len, dim)
        self.h = nn.ModuleList([GPTBlock(dim, heads, max_len) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx):
        t = idx.shape[1]
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        for blk in self.h:
            x = blk(x)
        return self.lm_head(self.ln_f(x))


class RNNTagger(nn.Module):
    """Embedding -> bidirectional 2-layer LSTM -> GRU -> linear, batch-first."""

    def __init__(self, vocab=50, emb=16, hidden=24, tags=5):
        super().__init__()
        self.embedding = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(2 * hidden, hidden, batch_first=True)
        self.classifier = nn.Linear(hidden, tags)

    def forward(self, tokens):
        x, _ = self.lstm(self.embedding(tokens))
        x, h = self.gru(x)
        return self.classifier(x), h


class Upsampler(nn.Module):
    """Super-resolution head: ConvTranspose2d x2, then PixelShuffle x2."""

    def __init__(self, c=3, feat=16):
        super().__init__()
        self.head = nn.Conv2d(c, feat, 3, padding=1)
        self.deconv = nn.ConvTranspose2d(feat, feat, 4, stride=2, padding=1)
        self.body = nn.Conv2d(feat, c * 4, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.act = nn.PReLU(feat)

    def forward(self, x):
        x = self.act(self.head(x))
        x = self.act(self.deconv(x))
        return torch.sigmoid(self.shuffle(self.body(x)))
