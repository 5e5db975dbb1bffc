# An alternate set of reference files of the same kinds as the committed ones: another seed,
# other widths (head dims 10, 20, 12, 8 instead of 20, 16, 32), other depths, sizes and case
# counts. The project's tests must pass on the files this makes as they do on the committed
# ones (they derive counts, names, widths and shapes from the file they read).
#
# Usage: testdata/golden/regen.sh TIMM_SRC DINOV2_SRC OUTDIR testdata/golden/params_alt.py
# gen.py and gen_models.py both exec this file; their P dicts differ, so it picks by script.
import os
import sys

if os.path.basename(sys.argv[0]) == "gen.py":
    P = dict(
        seed=11,
        interp_src=[(10, 13), (16, 16), (5, 9), (1, 4)],
        interp_dst=[(10, 13), (32, 20), (6, 6), (1, 1), (17, 29), (2, 7)],
        abs_cases=[((16, 16), 1, [(16, 16), (8, 11), (30, 30), (1, 2)]),
                   ((10, 14), 1, [(14, 10), (10, 14)]),
                   ((12, 12), 0, [(12, 12), (20, 9)]),
                   ((9, 9), 4, [(12, 12), (4, 6)])],
        patch_cases=[((16, 16), [(8, 8), (20, 20), (9, 13)]), ((14, 14), [(28, 28)]), ((8, 8), [(16, 16), (5, 5)])],
        relidx_windows=[(8, 8), (5, 7), (2, 3), (12, 4)],
        table_resizes=[((8, 8), (12, 12), 0), ((6, 6), (5, 5), 3), ((7, 7), (10, 13), 0)],
        cpb_windows=[((7, 7), (0, 0)), ((16, 16), (8, 8)), ((5, 9), (6, 6))],
        sincos=[((12, 12), 48), ((7, 19), 20)],
        peg_sizes=[(12, 12), (5, 17), (1, 3), (2, 2)],
        row_lengths=[1, 5, 9, 32, 50, 300],
        vit=dict(img_size=192, embed_dim=40, depth=3, num_heads=4, num_classes=7, dynamic_img_size=True, dynamic_img_pad=True),
        models=[
            ("vit_cls_learned.safetensors", "vit_tiny_patch16_224", {}, [(192, 192), (128, 64), (81, 150), (16, 16)]),
            ("vit_reg_noembedcls_avg.safetensors", "vit_tiny_patch16_224",
             dict(patch_size=14, img_size=98, reg_tokens=2, no_embed_class=True, global_pool="avg"), [(98, 98), (154, 70), (43, 120), (14, 28)]),
            ("vit_nope.safetensors", "vit_tiny_patch16_224", dict(pos_embed="none", class_token=False, global_pool="avg"),
             [(160, 160), (48, 224), (96, 32)]),
            ("swin_small_window.safetensors", "swin_tiny_patch4_window7_224",
             dict(embed_dim=32, depths=(2, 2), num_heads=(4, 4), window_size=5, img_size=160, num_classes=7, strict_img_size=False),
             [(160, 160), (96, 224), (200, 124), (44, 36)]),
        ],
    )
else:  # gen_models.py
    SMALL = dict(embed_dim=40, depth=3, num_heads=2)  # head dim 20
    P = dict(
        seed=5,
        models=[
            ("vit_dinov2_reg.safetensors", "vit_small_patch14_reg4_dinov2", dict(SMALL, img_size=70, dynamic_img_size=True),
             [(70, 70), (42, 112), (154, 98), (28, 14)], "dynamic"),
            ("vit_clip_quickgelu.safetensors", "vit_base_patch16_clip_quickgelu_224",
             dict(SMALL, img_size=80, num_classes=7, dynamic_img_size=True, dynamic_img_pad=True),
             [(80, 80), (64, 112), (45, 31), (128, 48), (16, 16)], "dynamic"),
            ("vit_siglip_map.safetensors", "vit_base_patch16_siglip_224", dict(SMALL, img_size=48, num_classes=7, dynamic_img_size=True),
             [(48, 48), (96, 64), (32, 144), (80, 80)], "dynamic"),
            ("deit_distilled.safetensors", "deit_tiny_distilled_patch16_224",
             dict(SMALL, img_size=80, num_classes=7, dynamic_img_size=True, dynamic_img_pad=True),
             [(80, 80), (64, 128), (41, 59)], "dynamic"),
            ("eva02_rope_swiglu.safetensors", "eva02_tiny_patch14_224",
             dict(embed_dim=48, depth=3, num_heads=4, img_size=70, ref_feat_shape=(6, 6), num_classes=7, dynamic_img_size=True),
             [(70, 70), (42, 98), (112, 56), (28, 28), (84, 84)], "dynamic"),
            ("vit_rope_mixed.safetensors", "vit_base_patch16_rope_mixed_224",
             dict(embed_dim=48, depth=2, num_heads=6, img_size=80, num_classes=7, dynamic_img_size=True),
             [(80, 80), (48, 112), (128, 64), (32, 32)], "dynamic"),
            ("beit_relpos.safetensors", "beit_base_patch16_224", dict(SMALL, img_size=80, num_classes=7),
             [(80, 80), (48, 48), (96, 64), (112, 128)], "recreate"),
            ("swinv2_cpb.safetensors", "swinv2_tiny_window8_256",
             dict(embed_dim=32, depths=(2, 2), num_heads=(4, 4), window_size=6, img_size=96, num_classes=7, strict_img_size=False),
             [(96, 96), (72, 144), (104, 88), (48, 48)], "dynamic"),
            ("naflex_siglip.safetensors", "naflexvit_base_patch16_siglip", dict(SMALL, num_classes=7),
             [(48, 48), (32, 96), (80, 64), (16, 128)], "naflex"),
            ("flexivit_patch.safetensors", "flexivit_small", dict(SMALL, img_size=80, num_classes=7),
             [(80, 80, 16), (80, 80, 10), (80, 80, 20), (80, 80, 8), (80, 80, 40)], "patch"),
            ("twins_pcpvt_peg.safetensors", "twins_pcpvt_small",
             dict(embed_dims=(16, 24, 40, 48), num_heads=(2, 3, 5, 6), depths=(2, 1, 1, 1), sr_ratios=(8, 4, 2, 1), num_classes=7),
             [(96, 96), (64, 128), (160, 96)], "dynamic"),
            # the seven newer model files
            ("dinov3_rope.safetensors", "vit_small_patch16_dinov3", dict(SMALL, num_reg_tokens=2, img_size=80, num_classes=7, dynamic_img_size=True),
             [(80, 80), (32, 112), (144, 48), (16, 16), (64, 96)], "dynamic"),
            ("pe_core.safetensors", "vit_pe_core_small_patch16_384",
             dict(SMALL, img_size=80, ref_feat_shape=(5, 5), num_classes=7, dynamic_img_size=True),
             [(80, 80), (48, 112), (128, 64), (32, 32), (96, 96)], "dynamic"),
            ("eva02_clip.safetensors", "eva02_base_patch16_clip_224",
             dict(SMALL, img_size=80, ref_feat_shape=(6, 6), num_classes=7, dynamic_img_size=True),
             [(80, 80), (48, 128), (144, 64), (16, 48), (96, 96)], "dynamic"),
            ("samvit_relpos.safetensors", "samvit_base_patch16",
             dict(SMALL, img_size=80, window_size=3, global_attn_indexes=(0, 2), neck_chans=24, num_classes=0),
             [(80, 80), (48, 112), (160, 64), (32, 32), (96, 144)], "features"),
            ("twins_svt.safetensors", "twins_svt_small",
             dict(embed_dims=(24, 40, 48, 56), num_heads=(2, 4, 4, 7), depths=(2, 1, 3, 2), wss=(5, 3, 3, 2), sr_ratios=(4, 2, 2, 1),
                  img_size=96, num_classes=7),
             [(96, 96), (64, 160), (112, 80), (32, 32), (160, 160)], "dynamic"),
            ("vit_rope_ape.safetensors", "vit_small_patch16_rope_ape_224", dict(SMALL, img_size=80, num_classes=7, dynamic_img_size=True),
             [(80, 80), (48, 128), (160, 32), (16, 16), (96, 112)], "dynamic"),
            ("hiera_abswin.safetensors", "hiera_tiny_224",
             dict(embed_dim=24, num_heads=2, stages=(2, 1, 2, 1), abs_win_pos_embed=True, global_pos_size=(6, 6), img_size=96,
                  num_classes=7),
             [(96, 96), (64, 128), (160, 96), (32, 64), (64, 64)], "recreate"),
        ],
        dinov2_interp=dict(table=(6, 6), dim=12, grids=[(6, 4), (8, 8), (2, 5), (10, 13), (1, 1), (6, 6)]),
    )
