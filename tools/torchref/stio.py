"""Write PyTorch tensors as a safetensors file, without the safetensors package.

The format is an 8-byte little-endian header length, a JSON header mapping
names to dtype/shape/offsets, then the raw little-endian data.  g2c's C
reader (src/nn/safetensors.c) reads what this writes; the test fixtures in
tests/fixtures/torch/ are made with it.
"""
import json
import struct

import torch


def save(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        out = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            a, b = info["data_offsets"]
            f.seek(base + a)
            buf = bytearray(f.read(b - a))
            out[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(info["shape"]).clone()
        return out, header.get("__metadata__", {})
