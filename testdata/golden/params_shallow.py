# A second alternate set, shallower and coarser than the committed files: depth 1, patch 8 for
# the plain ViT, 3 classes, one-block Swin stages, fewer and other cases. With params_alt.py it
# checks that the tests take every count, name, width and shape from the file they read.
#
# Usage: testdata/golden/regen.sh TIMM_SRC DINOV2_SRC OUTDIR testdata/golden/params_shallow.py
import os
import sys

if os.path.basename(sys.argv[0]) == "gen.py":
    P = dict(
        seed=23,
        interp_src=[(9, 6)],
        interp_dst=[(9, 6), (18, 12), (4, 3), (5, 11)],
        abs_cases=[((8, 8), 1, [(8, 8), (5, 13), (16, 16)]), ((6, 10), 0, [(10, 6), (3, 3)])],
        patch_cases=[((8, 8), [(16, 16), (4, 4), (6, 10)]), ((12, 12), [(12, 12), (18, 18)])],
        relidx_windows=[(4, 4), (3, 8)],
        table_resizes=[((4, 4), (6, 6), 0), ((9, 9), (4, 7), 3)],
        cpb_windows=[((4, 6), (0, 0)), ((10, 10), (4, 4))],
        sincos=[((5, 5), 16), ((33, 17), 32)],
        peg_sizes=[(6, 6), (3, 9)],
        row_lengths=[2, 3, 64, 129],
        vit=dict(img_size=64, patch_size=8, embed_dim=24, depth=1, num_heads=2, num_classes=3, dynamic_img_size=True, dynamic_img_pad=True),
        models=[
            ("vit_cls_learned.safetensors", "vit_tiny_patch16_224", {}, [(64, 64), (40, 72), (17, 9), (120, 32)]),
            ("vit_reg_noembedcls_avg.safetensors", "vit_tiny_patch16_224",
             dict(patch_size=16, img_size=64, reg_tokens=1, no_embed_class=True, global_pool="avg"), [(64, 64), (32, 96)]),
            ("vit_nope.safetensors", "vit_tiny_patch16_224", dict(pos_embed="none", class_token=False, global_pool="avg"),
             [(64, 64), (24, 120), (8, 8)]),
            ("swin_small_window.safetensors", "swin_tiny_patch4_window7_224",
             dict(embed_dim=16, depths=(1, 2, 1), num_heads=(1, 2, 4), window_size=4, img_size=128, num_classes=3, strict_img_size=False),
             [(128, 128), (64, 112), (100, 76)]),
        ],
    )
else:
    SMALL = dict(embed_dim=32, depth=1, num_heads=4)
    P = dict(
        seed=9,
        models=[
            ("vit_dinov2_reg.safetensors", "vit_small_patch14_reg4_dinov2", dict(SMALL, img_size=56, reg_tokens=2, dynamic_img_size=True),
             [(56, 56), (28, 84), (98, 42)], "dynamic"),
            ("vit_clip_quickgelu.safetensors", "vit_base_patch16_clip_quickgelu_224",
             dict(SMALL, img_size=48, num_classes=3, dynamic_img_size=True, dynamic_img_pad=True), [(48, 48), (30, 70)], "dynamic"),
            ("vit_siglip_map.safetensors", "vit_base_patch16_siglip_224", dict(SMALL, img_size=32, num_classes=3, dynamic_img_size=True),
             [(32, 32), (64, 16)], "dynamic"),
            ("deit_distilled.safetensors", "deit_tiny_distilled_patch16_224",
             dict(SMALL, img_size=48, num_classes=3, dynamic_img_size=True, dynamic_img_pad=True), [(48, 48), (20, 90)], "dynamic"),
            ("eva02_rope_swiglu.safetensors", "eva02_tiny_patch14_224",
             dict(embed_dim=32, depth=1, num_heads=2, img_size=42, ref_feat_shape=(2, 2), num_classes=3, dynamic_img_size=True),
             [(42, 42), (56, 28)], "dynamic"),
            ("vit_rope_mixed.safetensors", "vit_base_patch16_rope_mixed_224",
             dict(embed_dim=32, depth=1, num_heads=2, img_size=48, num_classes=3, dynamic_img_size=True), [(48, 48), (16, 80)], "dynamic"),
            ("beit_relpos.safetensors", "beit_base_patch16_224", dict(SMALL, img_size=48, num_classes=3), [(48, 48), (32, 80)], "recreate"),
            ("swinv2_cpb.safetensors", "swinv2_tiny_window8_256",
             dict(embed_dim=16, depths=(1, 1, 2), num_heads=(1, 2, 4), window_size=4, img_size=64, num_classes=3, strict_img_size=False),
             [(64, 64), (48, 96)], "dynamic"),
            ("naflex_siglip.safetensors", "naflexvit_base_patch16_siglip", dict(SMALL, num_classes=3), [(32, 32), (64, 48)], "naflex"),
            ("flexivit_patch.safetensors", "flexivit_small", dict(SMALL, img_size=48, num_classes=3), [(48, 48, 16), (48, 48, 8), (48, 48, 24)], "patch"),
            ("twins_pcpvt_peg.safetensors", "twins_pcpvt_small",
             dict(embed_dims=(8, 16, 24, 32), num_heads=(1, 1, 2, 2), depths=(1, 1, 2, 1), sr_ratios=(8, 4, 2, 1), num_classes=3),
             [(64, 64), (96, 32)], "dynamic"),
            ("dinov3_rope.safetensors", "vit_small_patch16_dinov3", dict(SMALL, num_reg_tokens=1, img_size=48, num_classes=3, dynamic_img_size=True),
             [(48, 48), (32, 80)], "dynamic"),
            ("pe_core.safetensors", "vit_pe_core_small_patch16_384",
             dict(SMALL, img_size=48, ref_feat_shape=(3, 3), attn_pool_num_heads=4, num_classes=3, dynamic_img_size=True),
             [(48, 48), (80, 32)], "dynamic"),
            ("eva02_clip.safetensors", "eva02_base_patch16_clip_224",
             dict(SMALL, img_size=48, ref_feat_shape=(4, 4), num_classes=3, dynamic_img_size=True),
             [(48, 48), (32, 96)], "dynamic"),
            ("samvit_relpos.safetensors", "samvit_base_patch16",
             dict(SMALL, img_size=64, window_size=3, global_attn_indexes=(), neck_chans=16, num_classes=0),
             [(64, 64), (32, 96)], "features"),
            ("twins_svt.safetensors", "twins_svt_small",
             dict(embed_dims=(8, 16, 24, 32), num_heads=(1, 2, 2, 4), depths=(1, 1, 1, 1), wss=(3, 3, 3, 3), sr_ratios=(8, 4, 2, 1),
                  img_size=64, num_classes=3),
             [(64, 64), (96, 48)], "dynamic"),
            ("vit_rope_ape.safetensors", "vit_small_patch16_rope_ape_224", dict(SMALL, img_size=48, num_classes=3, dynamic_img_size=True),
             [(48, 48), (16, 64)], "dynamic"),
            ("hiera_abswin.safetensors", "hiera_tiny_224",
             dict(embed_dim=8, num_heads=1, stages=(1, 1, 1), q_pool=2, mask_unit_size=(4, 4), mask_unit_attn=(True, False, False),
                  abs_win_pos_embed=True, global_pos_size=(4, 4), img_size=64, num_classes=3),
             [(64, 64), (48, 80)], "recreate"),
        ],
        dinov2_interp=dict(table=(4, 4), dim=4, grids=[(4, 4), (2, 7), (9, 3)]),
    )
