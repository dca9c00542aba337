"""The InteractVLM network (MV-Loc) as our own torch modules on transformers building blocks.

LLaVA part: CLIP ViT (penultimate layer, patch tokens) -> mm_projector (one Linear) -> spliced into a Llama at
the <image> token. Localisation part: the final-norm hidden state that predicts [SEG] -> text_hidden_fcs
(Linear, ReLU, Linear) -> one sparse prompt token per view (optionally modulated by a camera encoder) ->
SAM mask decoder on each rendered view's SAM ViT-H embedding.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from backend.localizers.interactvlm.config import IVLMConfig, SamSizes


class LayerNorm2d(nn.Module):
    """Channel LayerNorm of NCHW maps (SAM's LayerNorm2d; eps 1e-6)."""

    def __init__(self, channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        return (x - mean) / torch.sqrt(var + self.eps) * self.weight[:, None, None] + self.bias[:, None, None]


class PromptEncoder(nn.Module):
    """SAM's prompt encoder parameters under their official names.

    Only the random-Fourier positional encoding (dense PE of the image grid) and `no_mask_embed` take part
    in text-prompted decoding; points/boxes/masks are never given, but their weights are in the checkpoint.
    """

    def __init__(self, dim: int, mask_in_chans: int, grid: int) -> None:
        super().__init__()
        self.grid = grid
        self.pe_layer = nn.Module()
        self.pe_layer.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, dim // 2))
        self.point_embeddings = nn.ModuleList([nn.Embedding(1, dim) for _ in range(4)])
        self.not_a_point_embed = nn.Embedding(1, dim)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, mask_in_chans // 4, 2, stride=2), LayerNorm2d(mask_in_chans // 4), nn.GELU(),
            nn.Conv2d(mask_in_chans // 4, mask_in_chans, 2, stride=2), LayerNorm2d(mask_in_chans), nn.GELU(),
            nn.Conv2d(mask_in_chans, dim, 1))
        self.no_mask_embed = nn.Embedding(1, dim)

    def dense_pe(self) -> torch.Tensor:
        """(1, C, g, g) positional encoding of the pixel-centre grid of the image embedding, computed in the
        matrix's dtype (bf16 on the GPU) op for op as the official PositionEmbeddingRandom does."""
        gauss = self.pe_layer.positional_encoding_gaussian_matrix
        grid = torch.ones((self.grid, self.grid), device=gauss.device, dtype=gauss.dtype)
        y = (grid.cumsum(dim=0) - 0.5) / self.grid
        x = (grid.cumsum(dim=1) - 0.5) / self.grid
        coords = (2 * torch.stack([x, y], -1) - 1) @ gauss
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], -1).permute(2, 0, 1)[None]


class CamPoseEncoder(nn.Module):
    """The official camera-conditioning variants; each maps a view's 5 normalised camera numbers to 256-d."""

    def __init__(self, kind: str, n_views: int, out_dim: int) -> None:
        super().__init__()
        self.kind = kind
        if kind == "simple":  # embedding + relu(W c)
            self.linear1 = nn.Linear(5, out_dim)
        elif kind == "view_index":  # embedding * T_v(sigmoid(MLP(c)))
            self.spatial_encoder = nn.Sequential(nn.Linear(5, out_dim), nn.ReLU(), nn.Linear(out_dim, out_dim),
                                                 nn.Sigmoid())
            self.view_transforms = nn.ModuleList([nn.Linear(out_dim, out_dim) for _ in range(n_views)])
        else:  # vi_v1 (released models): embedding * sigmoid(T_v(MLP(c)))
            self.spatial_encoder = nn.Sequential(nn.Linear(5, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU())
            self.view_transforms = nn.ModuleList([nn.Linear(128, out_dim) for _ in range(n_views)])

    def forward(self, tokens: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
        """tokens (V, C): the [SEG] prompt repeated per view; cams (V, 5). Returns the per-view tokens."""
        if self.kind == "simple":
            return tokens + torch.relu(self.linear1(cams))
        base = self.spatial_encoder(cams)
        per_view = torch.stack([t(base[v]) for v, t in enumerate(self.view_transforms)])
        return tokens * (per_view if self.kind == "view_index" else torch.sigmoid(per_view))


class InteractVLMNet(nn.Module):
    def __init__(self, cfg: IVLMConfig, sam: SamSizes, clip_config) -> None:
        super().__init__()
        from transformers import CLIPVisionModel, LlamaConfig, LlamaModel, SamMaskDecoderConfig, SamVisionConfig
        from transformers.models.sam.modeling_sam import SamMaskDecoder, SamVisionEncoder

        llama_fields = {k: v for k, v in cfg.raw.items() if k in LlamaConfig().to_dict()}
        llama_fields.pop("architectures", None)
        self.llama_config = LlamaConfig(**llama_fields)
        self.llama = LlamaModel(self.llama_config)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.clip = CLIPVisionModel(clip_config)
        self.mm_projector = nn.Linear(cfg.mm_hidden_size, cfg.hidden_size)
        self.text_hidden_fcs = nn.ModuleList([nn.Sequential(
            nn.Linear(cfg.hidden_size, cfg.hidden_size), nn.ReLU(), nn.Linear(cfg.hidden_size, cfg.out_dim),
            nn.Dropout(0.0))])
        self.sam_encoder = SamVisionEncoder(SamVisionConfig(
            hidden_size=sam.encoder_width, num_hidden_layers=sam.encoder_depth,
            num_attention_heads=sam.encoder_heads, image_size=sam.image_size, patch_size=sam.patch_size,
            output_channels=sam.prompt_dim, window_size=sam.window_size,
            global_attn_indexes=sam.global_attn_indexes, mlp_dim=sam.encoder_mlp_dim))
        grid = sam.image_size // sam.patch_size
        self.prompt_encoder = PromptEncoder(sam.prompt_dim, sam.mask_in_chans, grid)
        # Official TwoWayTransformer uses torch's default LayerNorm eps (1e-5).
        decoder_config = SamMaskDecoderConfig(
            hidden_size=sam.prompt_dim, num_hidden_layers=sam.decoder_depth,
            num_attention_heads=sam.decoder_heads, mlp_dim=sam.decoder_mlp_dim,
            num_multimask_outputs=sam.num_mask_tokens - 1, iou_head_hidden_dim=sam.iou_head_hidden_dim,
            layer_norm_eps=1e-5)
        decoder_config._attn_implementation = "sdpa"  # used standalone, outside a PreTrainedModel
        self.mask_decoder = SamMaskDecoder(decoder_config)
        self.cam_pose_encoder = (CamPoseEncoder(cfg.cam_encoder_type, cfg.multiview_channels, sam.prompt_dim)
                                 if cfg.multiview_cam_cond else None)
        self.cfg = cfg
        self.sam = sam

    # --- LLaVA -----------------------------------------------------------------------------------------------
    def image_tokens(self, clip_pixels: torch.Tensor) -> torch.Tensor:
        """(1,3,S,S) CLIP-normalised photo -> (1, n_patches, hidden) LLM input embeddings."""
        out = self.clip(pixel_values=clip_pixels, output_hidden_states=True)
        patches = out.hidden_states[self.cfg.mm_vision_select_layer][:, 1:]  # drop CLS ('patch' features)
        return self.mm_projector(patches)

    @torch.no_grad()
    def seg_hidden_state(self, input_ids: list[int], image_embeds: torch.Tensor, seg_id: int, eos_id: int | None,
                         max_new_tokens: int, image_token: int = -200
                         ) -> tuple[torch.Tensor | None, list[int], torch.Tensor]:
        """Greedy decoding. Returns the final-norm hidden state whose argmax is [SEG] (None if never), the
        generated ids and the last hidden state. Stops at the first [SEG] (later tokens cannot change it: the
        model is causal) or EOS.

        Official equivalence: LISA/InteractVLM take, for each [SEG] in the output, the last-layer state one
        position *before* it (seg mask shifted by one, image length img_emb_len = patches - 1), i.e. the state
        whose lm_head argmax produced [SEG]; only the first [SEG] is decoded (n_seg = 1)."""
        from transformers import DynamicCache

        embed = self.llama.embed_tokens
        device = embed.weight.device
        at = input_ids.index(image_token)
        before = torch.tensor(input_ids[:at], device=device)
        after = torch.tensor(input_ids[at + 1:], device=device)
        inputs = torch.cat([embed(before), image_embeds[0].to(embed.weight.dtype), embed(after)])[None]
        cache = DynamicCache(config=self.llama_config)
        generated: list[int] = []
        for _ in range(max_new_tokens):
            out = self.llama(inputs_embeds=inputs, cache=cache, use_cache=True)
            hidden = out.last_hidden_state[:, -1]
            token = int(self.lm_head(hidden).argmax(-1))
            generated.append(token)
            if token == seg_id:
                return hidden[0], generated, hidden[0]
            if eos_id is not None and token == eos_id:
                break
            inputs = embed(torch.tensor([[token]], device=device))
        return None, generated, hidden[0]

    # --- SAM ---------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def view_embeddings(self, sam_pixels: torch.Tensor) -> torch.Tensor:
        """(V,3,S,S) SAM-normalised views -> (V,C,g,g); one view at a time bounds activation memory (ViT-H)."""
        return torch.cat([self.sam_encoder(pixel_values=view[None]).last_hidden_state for view in sam_pixels])

    @torch.no_grad()
    def decode_masks(self, seg_hidden: torch.Tensor, view_embeds: torch.Tensor, cams: torch.Tensor) -> torch.Tensor:
        """seg_hidden (hidden,), view_embeds (V,C,g,g), cams (V,5) -> low-res mask logits (V, 4g, 4g)."""
        n_views = view_embeds.shape[0]
        prompt = self.text_hidden_fcs[0](seg_hidden)  # (C,)
        tokens = prompt[None].expand(n_views, -1)  # the official code repeats it once per view
        if self.cam_pose_encoder is not None:
            tokens = self.cam_pose_encoder(tokens, cams.to(tokens.dtype))
        # Every view's decoder sees the same V prompt tokens (official broadcasting of a 1 x V prompt set).
        sparse = tokens[None, None].expand(n_views, 1, n_views, -1)
        grid = view_embeds.shape[-1]
        dense = self.prompt_encoder.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(n_views, -1, grid, grid)
        pe = self.prompt_encoder.dense_pe().expand(n_views, -1, -1, -1)
        masks, _ = self.mask_decoder(image_embeddings=view_embeds, image_positional_embeddings=pe,
                                     sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                                     multimask_output=False)
        return masks[:, 0, 0]
