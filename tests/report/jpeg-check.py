"""Decode a JPEG written by g2c's encoder with Pillow (libjpeg) and compare
it with the source image: prints the PSNR and exits 1 when it is below the
minimum or the image does not decode as a baseline 4:2:0 JFIF of the
source's size.
usage: jpeg-check.py SOURCE.png IMAGE.jpg MIN_PSNR_DB"""
import math
import sys

from PIL import Image

src = Image.open(sys.argv[1]).convert("RGB")
jpg = Image.open(sys.argv[2])
jpg.load()
ok = jpg.format == "JPEG" and jpg.size == src.size and jpg.mode == "RGB"
a, b = src.tobytes(), jpg.convert("RGB").tobytes()
mse = sum((x - y) ** 2 for x, y in zip(a, b)) / len(a)
psnr = 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)
print(f"{sys.argv[2]}: {jpg.size[0]}x{jpg.size[1]} {jpg.format} PSNR {psnr:.1f} dB")
sys.exit(0 if ok and psnr >= float(sys.argv[3]) else 1)
