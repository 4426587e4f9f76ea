"""Decoding fixtures: small real image files of every kind the encoder must decode, and what
python-export/colour.py (Pillow) decodes them to; test/encoder-decode.test.ts checks that Node (sharp +
src/encoder/colour.ts) gives the same bytes.

Writes test/fixtures/decode/:
  <name>.png / .jpg     the files (Pillow writes them, except 16-bit RGB and 16-bit gray+alpha PNGs,
                        which Pillow cannot write: a minimal PNG writer below does)
  expected.safetensors  uint8 tensors "<file>|<channels>|<policy>": the decoded H x W x channels image
                        for channels 1 (gray model) and 3 (RGB model), under the default policy (alpha
                        flattened onto white) and, for files with alpha, 'drop' and a coloured
                        background; metadata: the files (kind, Pillow mode, sha256), the policies, and
                        the sha256 of the normalized model input (NCHW float32) of each file resized to
                        24 x 20, so the whole preprocessing is compared, not only the decode.
Content comes from real images (CIFAR-10 test images 0-3, exact pixels, and a magnetic-tile crop),
so the JPEG files hold natural image statistics. Run from the repository root:
  /usr/bin/python3 python-export/make_decode_fixtures.py
"""
import argparse
import hashlib
import io
import os
import struct
import sys
import zlib

import numpy as np
import PIL
from PIL import Image, ImageCms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import colour  # noqa: E402
import data as datasets  # noqa: E402
from preprocess import preprocess_images  # noqa: E402
from refs import st_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "test", "fixtures", "decode")
W, H = 40, 30  # non-square, so an applied EXIF rotation would show in the shape
POLICIES = {
    "default": colour.ColourPolicy(),
    "drop": colour.ColourPolicy("drop"),
    "teal": colour.ColourPolicy("flatten", (0, 128, 255)),
}
PREPROCESS = {"height": 20, "width": 24, "mean": {1: [0.45], 3: [0.49, 0.48, 0.45]},
              "std": {1: [0.25], 3: [0.25, 0.24, 0.26]}}


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def write_png16(path: str, a: np.ndarray):
    """16-bit PNG (gray, gray+alpha, RGB or RGBA by the last axis), big-endian samples, filter 0."""
    h, w, c = a.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = b"".join(b"\x00" + a[y].astype(">u2").tobytes() for y in range(h))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0))
                + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def s15f16(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def wide_gamut_icc() -> bytes:
    """A minimal ICC v2 RGB display profile (matrix + gamma 1.8 curves, ProPhoto-like primaries adapted
    to D50): far enough from sRGB that applying it changes every colour, so the fixture shows whether a
    decoder applied it."""
    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15f16(x) + s15f16(y) + s15f16(z)

    desc_text = b"oneclass test wide-gamut RGB\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(desc_text)) + desc_text + b"\0" * 8 + b"\0\0\0" + b"\0" * 67
    curve = b"curv\0\0\0\0" + struct.pack(">IH", 1, int(round(1.8 * 256))) + b"\0\0"
    tags = [(b"desc", desc), (b"cprt", b"text\0\0\0\0public domain test profile\0"),
            (b"wtpt", xyz(0.9642, 1.0, 0.8249)), (b"rXYZ", xyz(0.7977, 0.2880, 0.0)),
            (b"gXYZ", xyz(0.1352, 0.7119, 0.0)), (b"bXYZ", xyz(0.0313, 0.0001, 0.8249)),
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    entries, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        entries += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = 128 + table_size + len(body)
    header = (struct.pack(">I", size) + b"\0\0\0\0" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 24 + struct.pack(">I", 0)
              + s15f16(0.9642) + s15f16(1.0) + s15f16(0.8249) + b"\0" * 48)
    assert len(header) == 128, len(header)
    return header + struct.pack(">I", len(tags)) + entries + body


def content(root: str):
    """Real pixels: an RGB 40 x 30 tile of CIFAR-10 test images 0-3 (exact pixels), a gray 40 x 30
    magnetic-tile crop, and a smooth alpha ramp with fully transparent and fully opaque corners."""
    lossless = datasets.read_cifar10_bin(os.path.join(root, "cifar10", "lossless", "test_first1000.bin"), limit=4)
    tile = np.concatenate([np.concatenate(lossless.images[0:2], axis=1),
                           np.concatenate(lossless.images[2:4], axis=1)], axis=0)  # 64 x 64
    rgb = np.ascontiguousarray(tile[10:10 + H, 12:12 + W])
    mt = sorted(os.listdir(os.path.join(root, "magnetic_tile", "train", "good")))[0]
    gray = colour.decode_file(os.path.join(root, "magnetic_tile", "train", "good", mt), 1)[20:20 + H, 30:30 + W]
    y, x = np.mgrid[0:H, 0:W]
    alpha = np.clip((x * 255) // (W - 1) + (y * 40) // H - 20, 0, 255).astype(np.uint8)
    alpha[:4, :4], alpha[-4:, -4:] = 0, 255
    return rgb, np.ascontiguousarray(gray[:, :, 0]), alpha


def make_files(root: str):
    rng = np.random.default_rng(13)
    rgb, gray, alpha = content(root)
    low = lambda shape: rng.integers(0, 256, shape, dtype=np.uint16)  # noqa: E731 - arbitrary low bytes
    files = {}

    def save(name, kind, write):
        path = os.path.join(OUT, name)
        write(path)
        files[name] = kind

    save("gray.png", "8-bit grayscale PNG", lambda p: Image.fromarray(gray, "L").save(p, optimize=True))
    save("gray.jpg", "grayscale JPEG", lambda p: Image.fromarray(gray, "L").save(p, quality=90))
    save("rgb.png", "8-bit RGB PNG", lambda p: Image.fromarray(rgb, "RGB").save(p, optimize=True))
    save("rgb.jpg", "RGB JPEG, 4:2:0", lambda p: Image.fromarray(rgb, "RGB").save(p, quality=90))
    save("rgba.png", "8-bit RGBA PNG",
         lambda p: Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(p, optimize=True))
    save("gray-alpha.png", "8-bit gray + alpha PNG",
         lambda p: Image.fromarray(np.dstack([gray, alpha]), "LA").save(p, optimize=True))
    save("gray16.png", "16-bit grayscale PNG",
         lambda p: Image.fromarray((gray.astype(np.uint16) << 8) | low(gray.shape), "I;16").save(p))
    save("rgb16.png", "16-bit RGB PNG", lambda p: write_png16(p, (rgb.astype(np.uint16) << 8) | low(rgb.shape)))
    save("gray-alpha16.png", "16-bit gray + alpha PNG (Pillow opens it as RGBA)",
         lambda p: write_png16(p, (np.dstack([gray, alpha]).astype(np.uint16) << 8) | low((H, W, 2))))
    save("palette.png", "palette PNG (64 colours)",
         lambda p: Image.fromarray(rgb, "RGB").quantize(64, dither=Image.Dither.NONE).save(p))
    pal_t = Image.fromarray(rgb, "RGB").quantize(16, dither=Image.Dither.NONE)
    save("palette-transparent.png", "palette PNG with a transparent entry (tRNS)",
         lambda p: pal_t.save(p, transparency=int(np.asarray(pal_t)[0, 0])))
    save("gray-transparent.png", "8-bit grayscale PNG with a transparent gray level (tRNS)",
         lambda p: Image.fromarray(gray, "L").save(p, transparency=int(gray[0, 0])))
    save("bilevel.png", "1-bit PNG", lambda p: Image.fromarray(gray > 128).save(p))
    # CMYK with real black generation (K = 255 - max(R, G, B)), so both K and C/M/Y vary.
    r8 = rgb.astype(np.int64)
    k = 255 - r8.max(axis=2)
    denom = np.maximum(255 - k, 1)[..., None]
    cmy = np.where(k[..., None] == 255, 0, ((255 - k[..., None] - r8) * 255 + denom // 2) // denom)
    cmyk = np.dstack([cmy, k]).astype(np.uint8)
    save("cmyk.jpg", "CMYK JPEG (Adobe marker, inverted samples on disk, as Pillow and Photoshop write it)",
         lambda p: Image.fromarray(cmyk, "CMYK").save(p, quality=90))

    def exif_rotated(p):
        im = Image.fromarray(rgb, "RGB")
        exif = im.getexif()
        exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
        im.save(p, quality=90, exif=exif.tobytes())

    save("exif-rotated.jpg", "RGB JPEG with EXIF orientation 6 (not applied)", exif_rotated)
    icc = wide_gamut_icc()
    ImageCms.ImageCmsProfile(io.BytesIO(icc))  # lcms must accept it, or the fixture proves nothing
    save("icc-wide-gamut.jpg", "RGB JPEG with an embedded wide-gamut ICC profile (not applied)",
         lambda p: Image.fromarray(rgb, "RGB").save(p, quality=90, icc_profile=icc))
    return files


def check_against_pillow():
    """The documented equalities: colour.py's RGB -> gray is Pillow's convert('L') and its CMYK -> RGB
    is Pillow's convert('RGB'), checked on every (C, K) pair and on 2**20 random RGB pixels."""
    c, k = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    cmyk = np.stack([c, c, c, k], axis=-1).astype(np.uint8)
    pil = np.asarray(Image.fromarray(cmyk, "CMYK").convert("RGB"))
    if not np.array_equal(pil, colour.to_model_colour(colour.Samples(cmyk, "cmyk"), 3)):
        raise SystemExit("colour.py CMYK -> RGB differs from Pillow's convert('RGB')")
    rgb = np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)
    pil = np.asarray(Image.fromarray(rgb, "RGB").convert("L"))[:, :, None]
    if not np.array_equal(pil, colour.to_model_colour(colour.Samples(rgb, "rgb"), 1)):
        raise SystemExit("colour.py RGB -> gray differs from Pillow's convert('L')")
    print("colour.py agrees with Pillow: CMYK -> RGB on all 65,536 (C, K) pairs, RGB -> gray on 2**20 pixels")


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-root", default=datasets.DEFAULT_DATA_ROOT)
    args = p.parse_args()
    check_against_pillow()
    os.makedirs(OUT, exist_ok=True)
    files = make_files(args.data_root)
    tensors, meta_files, inputs = {}, {}, {}
    for name, kind in files.items():
        path = os.path.join(OUT, name)
        raw = open(path, "rb").read()
        samples = colour.decode_samples(raw)
        with Image.open(path) as im:
            mode = im.mode
        meta_files[name] = {"kind": kind, "pillowMode": mode, "layout": samples.layout,
                            "bits": 16 if samples.data.dtype == np.uint16 else 8, "sha256": sha256(raw),
                            "bytes": len(raw)}
        policies = POLICIES if samples.has_alpha else {"default": POLICIES["default"]}
        for channels in (1, 3):
            for pname, policy in policies.items():
                out = colour.to_model_colour(samples, channels, policy)
                tensors[f"{name}|{channels}|{pname}"] = out
            x = preprocess_images([tensors[f"{name}|{channels}|default"]], PREPROCESS["height"], PREPROCESS["width"],
                                  PREPROCESS["mean"][channels], PREPROCESS["std"][channels])
            inputs[f"{name}|{channels}"] = sha256(x.numpy().astype("<f4").tobytes())
        print(f"{name:28s} {len(raw):6d} bytes  Pillow {mode:5s} -> {samples.layout} ({kind})")
    meta = {"files": meta_files,
            "policies": {k: {"alpha": v.alpha, "background": list(v.background)} for k, v in POLICIES.items()},
            "preprocess": PREPROCESS, "inputSha256": inputs, "pillow": PIL.__version__,
            "source": "python-export/make_decode_fixtures.py"}
    st_io.save(os.path.join(OUT, "expected.safetensors"), tensors, meta)
    print(f"wrote {len(files)} files and {len(tensors)} expected tensors to {OUT}")


if __name__ == "__main__":
    main()
