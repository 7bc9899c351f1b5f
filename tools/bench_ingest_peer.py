#!/usr/bin/python3
"""The Python peer of `g2c ingest`, for tools/bench-ingest.sh.

Does the same work as g2c's ingestion of one slide with a CSV of boxes and
default options, with openslide-python, Pillow and sqlite3:

  * square-with-margin geometry of g2c_crop_square (src/ingest/crop.c),
  * level choice of g2c_slide_best_level and the read of g2c_slide_read_box
    (src/wsi/slide.c): read at floor(x), floor(y), ceil(side / downsample),
  * RGBA -> RGB over white (OpenSlide's transparent areas are glass),
  * resize to the patch size: box filter (Image.BOX) when shrinking,
    bilinear when enlarging, as g2c_image_resize picks.  Pillow's BOX
    samples the kernel at source pixel centres (a source pixel counts fully
    or not at all) where g2c weighs exact overlaps, so crops differ at
    sharp edges (mean |diff| about 2 of 255); the cost is of the same kind,
  * PNG at zlib level 1 (no optimize pass),
  * one SQLite transaction per slide into a catalog shaped like g2c's
    (slides, annotations, patches with a PNG blob), WAL, synchronous=FULL.

Subcommands:
  boxes SLIDE N SEED OUT.csv      deterministic x,y,w,h,label boxes
  ingest [--workers K] DB SLIDE BOXES.csv
                                  prints "crops SECONDS" on stdout
  compare DB_G2C DB_PEER          decodes both catalogs' crops, prints the
                                  per-channel difference and the PNG bytes
"""
import csv
import io
import math
import multiprocessing
import os
import random
import sqlite3
import sys
import time

import openslide
from PIL import Image, ImageChops, ImageStat

PATCH = 224
MARGIN = 0.1
PNG_LEVEL = 1

SCHEMA = """
PRAGMA foreign_keys = ON;
CREATE TABLE labels (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE slides (
    id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
    vendor TEXT NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL,
    level_count INTEGER NOT NULL, mpp_x REAL, mpp_y REAL, fingerprint TEXT NOT NULL);
CREATE TABLE annotations (
    id INTEGER PRIMARY KEY,
    slide_id INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
    label_id INTEGER REFERENCES labels(id),
    x REAL NOT NULL, y REAL NOT NULL, w REAL NOT NULL CHECK (w > 0),
    h REAL NOT NULL CHECK (h > 0), source_file TEXT NOT NULL,
    source_format TEXT NOT NULL, source_id TEXT NOT NULL DEFAULT '',
    clipped INTEGER NOT NULL DEFAULT 0);
CREATE INDEX annotations_slide ON annotations(slide_id);
CREATE INDEX annotations_label ON annotations(label_id);
CREATE TABLE patches (
    id INTEGER PRIMARY KEY,
    slide_id INTEGER REFERENCES slides(id) ON DELETE CASCADE,
    annotation_id INTEGER REFERENCES annotations(id) ON DELETE CASCADE,
    level INTEGER, x REAL, y REAL, w REAL, h REAL, mpp REAL,
    width INTEGER NOT NULL, height INTEGER NOT NULL, png BLOB NOT NULL);
CREATE INDEX patches_slide ON patches(slide_id);
CREATE INDEX patches_annotation ON patches(annotation_id);
"""


def make_boxes(slide_path, n, seed, out_path):
    """N boxes of 150-350 px sides, wholly inside level 0, labels noa/ss/gs."""
    width, height = openslide.OpenSlide(slide_path).dimensions
    rng = random.Random(seed)
    labels = ("noa", "ss", "gs")
    with open(out_path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(("x", "y", "w", "h", "label"))
        for i in range(n):
            w = rng.randint(150, 350)
            h = rng.randint(150, 350)
            x = rng.randint(0, width - w)
            y = rng.randint(0, height - h)
            out.writerow((x, y, w, h, labels[i % 3]))


def read_boxes(path):
    """(x, y, w, h, label, source_id) with source_id = the line number, as
    g2c's CSV reader records it."""
    boxes = []
    with open(path, newline="") as f:
        rows = csv.reader(f)
        next(rows)
        for line, r in enumerate(rows, start=2):
            boxes.append((float(r[0]), float(r[1]), float(r[2]), float(r[3]), r[4],
                          str(line)))
    return boxes


def crop_square(x, y, w, h, margin):
    """g2c_crop_square."""
    s = max(w, h) * (1.0 + 2.0 * margin)
    return x + w / 2.0 - s / 2.0, y + h / 2.0 - s / 2.0, s


def best_level(downsamples, downsample):
    """g2c_slide_best_level: the last level not coarser than asked."""
    best = 0
    for level, ds in enumerate(downsamples):
        if ds <= downsample * 1.001:
            best = level
    return best


def to_rgb_over_white(region):
    """openslide-python un-premultiplies into RGBA; compositing that over
    white gives what g2c gets from premultiplied ARGB + white * (1 - a)."""
    if region.getchannel("A").getextrema()[0] == 255:
        return region.convert("RGB")
    white = Image.new("RGBA", region.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, region).convert("RGB")


class Cropper:
    """One open slide, reused for every crop (per worker process)."""

    def __init__(self, slide_path):
        self.slide = openslide.OpenSlide(slide_path)
        self.downsamples = self.slide.level_downsamples

    def crop(self, box):
        x, y, w, h = box[:4]
        sx, sy, side = crop_square(x, y, w, h, MARGIN)
        level = best_level(self.downsamples, side / PATCH)
        ds = self.downsamples[level]
        rw = max(1, math.ceil(side / ds))
        region = self.slide.read_region((math.floor(sx), math.floor(sy)), level, (rw, rw))
        img = to_rgb_over_white(region)
        if rw != PATCH:
            img = img.resize((PATCH, PATCH),
                             Image.BOX if rw > PATCH else Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, format="PNG", compress_level=PNG_LEVEL)
        return level, sx, sy, side, buf.getvalue()


_worker = None


def _init_worker(slide_path):
    global _worker
    _worker = Cropper(slide_path)


def _crop_in_worker(box):
    return _worker.crop(box)


def cut_crops(slide_path, boxes, workers):
    if workers <= 1:
        cropper = Cropper(slide_path)
        return [cropper.crop(b) for b in boxes]
    with multiprocessing.Pool(workers, _init_worker, (slide_path,)) as pool:
        return pool.map(_crop_in_worker, boxes, chunksize=16)


def open_catalog(db_path):
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.executescript(SCHEMA)
    db.executemany("INSERT INTO labels (name) VALUES (?)", [("noa",), ("ss",), ("gs",)])
    return db


def write_slide(db, slide_path, boxes_path, boxes, crops):
    slide = openslide.OpenSlide(slide_path)
    props = slide.properties
    mpp_x = float(props.get(openslide.PROPERTY_NAME_MPP_X, 0) or 0)
    mpp_y = float(props.get(openslide.PROPERTY_NAME_MPP_Y, 0) or 0)
    labels = dict(db.execute("SELECT name, id FROM labels"))
    db.execute("BEGIN")
    cur = db.execute(
        "INSERT INTO slides (path, name, vendor, width, height, level_count, mpp_x, "
        "mpp_y, fingerprint) VALUES (?,?,?,?,?,?,?,?,?)",
        (slide_path, os.path.basename(slide_path),
         props.get(openslide.PROPERTY_NAME_VENDOR, "unknown"), *slide.dimensions,
         slide.level_count, mpp_x or None, mpp_y or None,
         props.get("openslide.quickhash-1", "")))
    slide_id = cur.lastrowid
    for box, (level, sx, sy, side, png) in zip(boxes, crops):
        x, y, w, h, label, source_id = box
        cur = db.execute(
            "INSERT INTO annotations (slide_id, label_id, x, y, w, h, source_file, "
            "source_format, source_id, clipped) VALUES (?,?,?,?,?,?,?,?,?,0)",
            (slide_id, labels.get(label), x, y, w, h, boxes_path, "csv", source_id))
        db.execute(
            "INSERT INTO patches (slide_id, annotation_id, level, x, y, w, h, mpp, width, "
            "height, png) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (slide_id, cur.lastrowid, level, sx, sy, side, side,
             mpp_x * side / PATCH if mpp_x > 0 else None, PATCH, PATCH, png))
    db.execute("COMMIT")


def ingest(db_path, slide_path, boxes_path, workers):
    """Everything after interpreter start-up is timed, as the g2c side times
    its whole command."""
    t0 = time.perf_counter()
    slide_path = os.path.realpath(slide_path)
    boxes = read_boxes(boxes_path)
    crops = cut_crops(slide_path, boxes, workers)
    db = open_catalog(db_path)
    write_slide(db, slide_path, boxes_path, boxes, crops)
    db.close()
    return len(boxes), time.perf_counter() - t0


def compare(db_a, db_b):
    """Largest per-channel difference between the crops of two catalogs,
    matched by annotation order."""
    def crops(path):
        db = sqlite3.connect(path)
        rows = db.execute("SELECT p.png FROM patches p JOIN annotations a "
                          "ON p.annotation_id = a.id ORDER BY a.id").fetchall()
        db.close()
        return [r[0] for r in rows]

    a, b = crops(db_a), crops(db_b)
    if len(a) != len(b):
        return f"count differs: {len(a)} vs {len(b)}"
    worst, mean = 0, 0.0
    size_a, size_b = sum(map(len, a)), sum(map(len, b))
    for pa, pb in zip(a, b):
        ia = Image.open(io.BytesIO(pa)).convert("RGB")
        ib = Image.open(io.BytesIO(pb)).convert("RGB")
        if ia.size != ib.size:
            return "crop sizes differ"
        d = ImageChops.difference(ia, ib)
        worst = max(worst, max(hi for _, hi in d.getextrema()))
        mean += sum(ImageStat.Stat(d).mean) / 3
    return (f"{len(a)} crops, max |diff| {worst}, mean |diff| {mean / len(a):.2f}; "
            f"PNG bytes {size_a / 1e6:.1f} MB vs {size_b / 1e6:.1f} MB")


def main(argv):
    if len(argv) >= 2 and argv[1] == "boxes" and len(argv) == 6:
        make_boxes(argv[2], int(argv[3]), int(argv[4]), argv[5])
        return 0
    if len(argv) >= 2 and argv[1] == "ingest":
        args = argv[2:]
        workers = 1
        if len(args) >= 2 and args[0] == "--workers":
            workers = int(args[1])
            args = args[2:]
        if len(args) == 3:
            n, seconds = ingest(args[0], args[1], args[2], workers)
            print(f"{n} {seconds:.6f}")
            return 0
    if len(argv) == 4 and argv[1] == "compare":
        print(compare(argv[2], argv[3]))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
