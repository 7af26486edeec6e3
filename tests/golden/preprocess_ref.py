"""Reference image decoding, resizing and preprocessing by PIL and torchvision.

Usage: preprocess_ref.py OUT_DIR
Writes image files (PNG and JPEG, written by PIL, or by the small PNG writer below for
the sample formats PIL cannot write) into OUT_DIR together with what the reference makes
of them, and OUT_DIR/manifest.json describing it all:

  "decode":   per file: whether Image.open(f).convert('RGB') succeeds and, if so, its
              pixels (u8 [H, W, 3] raw). Includes files truncated at several points.
  "resize":   u8 [H, W, C] inputs and PIL's Image.resize((w, h), BILINEAR) of them.
  "pipeline": per decoded image, for each network: torchvision's Resize output (PIL
              image bytes) and the full transform's tensor, permuted from [3, 224, 224]
              to our channels-last [224, 224, 3] (raw little-endian f32).
The transforms are exactly the publishers': torchvision's GoogLeNet recipe
(Resize(256), CenterCrop(224), ToTensor, Normalize) and the CSAILVision Places365 demo
(Resize((256, 256)), CenterCrop(224), ToTensor, Normalize), ImageNet mean and std.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as trn

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
PIPELINES = {
    "googlenet": trn.Compose([trn.Resize(256), trn.CenterCrop(224), trn.ToTensor(), trn.Normalize(MEAN, STD)]),
    "places365": trn.Compose([trn.Resize((256, 256)), trn.CenterCrop(224), trn.ToTensor(), trn.Normalize(MEAN, STD)]),
}
RESIZE_STEP = {"googlenet": trn.Resize(256), "places365": trn.Resize((256, 256))}


def content(h, w, kind, seed):
    """u8 [h, w, 3]: uniform noise, or smooth gradients with a little noise."""
    rng = np.random.RandomState(seed)
    if kind == "noise":
        return rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    img = np.stack([
        127.5 + 127.5 * np.sin(x / (w / 3.0 + 1) + 0.3),
        255.0 * y / max(h - 1, 1),
        127.5 + 127.5 * np.cos((x + y) / 17.0),
    ], axis=-1) + rng.normal(0, 6, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png(samples, depth, color, palette=None, trns=None, interlace=False):
    """A PNG from unsigned samples [h, w, channels] (filter 0, optionally Adam7)."""
    h, w, ch = samples.shape

    def rows(a):
        out = b""
        for r in a:
            flat = r.reshape(-1).astype(np.uint32)
            if depth == 16:
                line = flat.astype(">u2").tobytes()
            elif depth == 8:
                line = flat.astype(np.uint8).tobytes()
            else:  # pack MSB first
                per = 8 // depth
                pad = (-len(flat)) % per
                flat = np.concatenate([flat, np.zeros(pad, np.uint32)]).reshape(-1, per)
                line = bytes((flat << (8 - depth * (np.arange(per) + 1))).sum(axis=1).astype(np.uint8))
            out += b"\x00" + line
        return out

    if interlace:
        raw = b""
        for y0, x0, dy, dx in [(0, 0, 8, 8), (0, 4, 8, 8), (4, 0, 8, 4), (0, 2, 4, 4), (2, 0, 4, 2), (0, 1, 2, 2), (1, 0, 2, 1)]:
            sub = samples[y0::dy, x0::dx]
            if sub.size:
                raw += rows(sub)
    else:
        raw = rows(samples)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, int(interlace)))
    if palette is not None:
        data += png_chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    if trns is not None:
        data += png_chunk(b"tRNS", trns)
    return data + png_chunk(b"IDAT", zlib.compress(raw, 9)) + png_chunk(b"IEND", b"")


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"decode": [], "resize": [], "pipeline": []}

    def save_raw(name, array):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(np.ascontiguousarray(array).tobytes())
        return name

    def add_file(name, data, pipeline=False):
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
        entry = {"file": name}
        try:
            img = Image.open(os.path.join(out_dir, name)).convert("RGB")
            pixels = np.asarray(img)
            entry.update(ok=True, shape=list(pixels.shape), pixels=save_raw(name + ".rgb", pixels))
        except Exception as e:  # noqa: BLE001 - any refusal by PIL is the reference's answer
            entry.update(ok=False, error=str(e))
            img = None
        manifest["decode"].append(entry)
        if pipeline and img is not None:
            add_pipeline(name, img)
        return entry

    def add_pipeline(name, img):
        entry = {"image": name, "shape": [img.height, img.width, 3], "pixels": name + ".rgb"}
        for net, transform in PIPELINES.items():
            resized = np.asarray(RESIZE_STEP[net](img))
            tensor = transform(img).permute(1, 2, 0).contiguous().numpy()
            entry[net] = {
                "resized_shape": list(resized.shape), "resized": save_raw(f"{name}.{net}.resized", resized),
                "tensor": save_raw(f"{name}.{net}.f32", tensor.astype("<f4")),
            }
        manifest["pipeline"].append(entry)

    # Images through the whole pipeline, as PNG (lossless) and JPEG (quality 90, 4:2:0 and
    # 4:4:4), covering landscape, portrait, odd sizes, upscaling (< 224 and < 256), a
    # shorter side of exactly 256 (no resize for GoogLeNet), .5 crop offsets of both
    # parities (slack 33 -> 16, slack 35 -> 18) and a video frame.
    sizes = [(300, 400, "noise"), (401, 333, "smooth"), (80, 100, "smooth"), (57, 33, "noise"), (256, 256, "smooth"),
             (256, 259, "noise"), (257, 259, "smooth"), (224, 224, "noise"), (720, 1280, "smooth"), (1000, 256, "noise")]
    for i, (h, w, kind) in enumerate(sizes):
        img = Image.fromarray(content(h, w, kind, 100 + i))
        buf = io.BytesIO()
        img.save(buf, "PNG")
        add_file(f"img{i}_{h}x{w}.png", buf.getvalue(), pipeline=True)
        for sub, tag in [(2, "420"), (0, "444")]:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=90, subsampling=sub)
            add_file(f"img{i}_{h}x{w}_{tag}.jpg", buf.getvalue(), pipeline=(i % 3 == 0))

    # Decoding only: the JPEG and PNG variants a file may come in.
    base = content(37, 45, "smooth", 7)
    rgb = Image.fromarray(base)
    variants = {}
    for name, kwargs in [("q90_422.jpg", dict(quality=90, subsampling=1)), ("progressive.jpg", dict(quality=85, progressive=True)),
                         ("q50_optimized.jpg", dict(quality=50, optimize=True))]:
        buf = io.BytesIO()
        rgb.save(buf, "JPEG", **kwargs)
        variants[name] = buf.getvalue()
    for name, mode in [("grey.jpg", "L")]:
        buf = io.BytesIO()
        rgb.convert(mode).save(buf, "JPEG", quality=90)
        variants[name] = buf.getvalue()
    for name, im in [("grey.png", rgb.convert("L")), ("grey_alpha.png", rgb.convert("LA")), ("rgba.png", rgb.convert("RGBA")),
                     ("palette.png", rgb.convert("P", palette=Image.ADAPTIVE, colors=200)), ("bilevel.png", rgb.convert("1")),
                     ("grey16.png", Image.fromarray((base[..., 0].astype(np.uint16) * 7 + 3)))]:
        buf = io.BytesIO()
        im.save(buf, "PNG")
        variants[name] = buf.getvalue()
    alpha_img = rgb.convert("RGBA")
    alpha_img.putalpha(Image.fromarray(content(37, 45, "noise", 8)[..., 0]))
    buf = io.BytesIO()
    alpha_img.save(buf, "PNG")
    variants["rgba_varying_alpha.png"] = buf.getvalue()
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=16)
    pal.info["transparency"] = 3
    buf = io.BytesIO()
    pal.save(buf, "PNG", transparency=3)
    variants["palette_trns.png"] = buf.getvalue()
    rng = np.random.RandomState(9)
    variants["rgb16.png"] = write_png(rng.randint(0, 65536, (13, 11, 3)), 16, 2)
    variants["rgba16.png"] = write_png(rng.randint(0, 65536, (13, 11, 4)), 16, 6)
    variants["grey_alpha16.png"] = write_png(rng.randint(0, 65536, (13, 11, 2)), 16, 4)
    variants["grey16_big_values.png"] = write_png(rng.randint(0, 65536, (13, 11, 1)), 16, 0)
    variants["grey2.png"] = write_png(rng.randint(0, 4, (13, 11, 1)), 2, 0)
    variants["grey4.png"] = write_png(rng.randint(0, 16, (13, 11, 1)), 4, 0)
    variants["palette4.png"] = write_png(rng.randint(0, 16, (13, 11, 1)), 4, 3, palette=rng.randint(0, 256, (16, 3)))
    variants["palette1.png"] = write_png(rng.randint(0, 2, (13, 11, 1)), 1, 3, palette=rng.randint(0, 256, (2, 3)))
    variants["grey_trns.png"] = write_png(rng.randint(0, 256, (13, 11, 1)), 8, 0, trns=struct.pack(">H", 77))
    variants["rgb_trns.png"] = write_png(rng.randint(0, 256, (13, 11, 3)), 8, 2, trns=struct.pack(">HHH", 1, 2, 3))
    variants["interlaced.png"] = write_png(rng.randint(0, 256, (19, 23, 3)), 8, 2, interlace=True)
    variants["interlaced16_grey_alpha.png"] = write_png(rng.randint(0, 65536, (9, 10, 2)), 16, 4, interlace=True)
    variants["jpeg_named.png"] = variants["q90_422.jpg"]  # the content decides, not the name
    for name, data in variants.items():
        add_file(name, data)

    # Truncated files: PIL's verdict (and pixels when it accepts) at several cuts.
    for name in ["img0_300x400_420.jpg", "img0_300x400.png"]:
        with open(os.path.join(out_dir, name), "rb") as f:
            data = f.read()
        for cut in [2, 5, 20, 40, len(data) // 2, len(data) - 12, len(data) - 8, len(data) - 2]:
            add_file(f"{name}.cut{cut}{os.path.splitext(name)[1]}", data[:cut])
    data = variants["progressive.jpg"]
    for cut in [len(data) // 3, len(data) - 2]:
        add_file(f"progressive.cut{cut}.jpg", data[:cut])

    # PIL's resize alone, on raw arrays: downscales (strong, by odd factors), upscales,
    # one axis only, and grey (one channel).
    for i, (h, w, c, oh, ow) in enumerate([(31, 47, 3, 256, 256), (500, 300, 3, 17, 11), (3, 1, 3, 1, 5), (64, 64, 3, 64, 20),
                                          (64, 64, 3, 21, 64), (97, 203, 1, 33, 300), (1, 1, 3, 7, 3)]):
        x = content(h, w, "noise" if i % 2 else "smooth", 200 + i)[..., :c]
        img = Image.fromarray(x[..., 0] if c == 1 else x)
        y = np.asarray(img.resize((ow, oh), Image.BILINEAR)).reshape(oh, ow, c)
        manifest["resize"].append({"shape": [h, w, c], "out_shape": [oh, ow, c], "input": save_raw(f"resize{i}.in", x),
                                   "output": save_raw(f"resize{i}.out", y)})

    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(sys.argv[1])
