"""Read TensorFlow 1/2 checkpoints (the V2 tensor-bundle format) with Python and NumPy alone.

A checkpoint ``PREFIX`` is ``PREFIX.index`` plus data shards
``PREFIX.data-00000-of-0000N``. The index is a LevelDB-format table (uncompressed
blocks, each with a masked CRC-32C): key ``""`` holds a ``BundleHeaderProto``, every
other key is a tensor name whose value is a ``BundleEntryProto`` (dtype, shape, shard,
offset, size, masked CRC-32C of the tensor's bytes). A folder's ``checkpoint`` text file
names its latest prefix (``model_checkpoint_path: "model.ckpt-1000"``).

Why our own reader: the PyPI package ``tensorflow-checkpoint-reader`` (0.2.2, last
released February 2023) vendors about 200 generated protobuf modules of that era and
computes its "crc32c" with ``zlib.crc32``, which is CRC-32, not CRC-32C, so it cannot
check the stored checksums. The format needs about 200 lines; these verify every block
and tensor checksum and fail with a message that names the file.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError

TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48
BLOCK_TRAILER_SIZE = 5
CRC_MASK_DELTA = 0xA282EAD8

# tensorflow/core/framework/types.proto
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 4: np.uint8, 5: np.int16, 6: np.int8, 9: np.int64,
          10: np.bool_, 17: np.uint16, 19: np.float16, 22: np.uint32, 23: np.uint64}
DT_BFLOAT16 = 14


class CheckpointError(UserError, ValueError):
    """A checkpoint that cannot be read, naming the file and the problem."""


def _crc32c_function():
    """google-crc32c's C implementation; a table-driven pure-Python one without it."""
    try:
        import google_crc32c
    except ImportError:
        google_crc32c = None
    if google_crc32c is not None:
        return lambda data: google_crc32c.value(bytes(data))
    table = []
    for n in range(256):  # Castagnoli polynomial, reflected
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)

    def crc32c(data) -> int:
        crc = 0xFFFFFFFF
        for byte in bytes(data):
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFF

    return crc32c


crc32c = _crc32c_function()


def unmask_crc(masked: int) -> int:
    rot = (masked - CRC_MASK_DELTA) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise IndexError("varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _proto_fields(data: bytes) -> dict[int, list]:
    """A protobuf message as {field number: [values]}: ints for varint/fixed, bytes for
    length-delimited fields (decoded further by the caller)."""
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    shape: tuple[int, ...]
    shard: int
    offset: int
    size: int
    crc32c: int | None


def _entry(name: str, value: bytes) -> TensorEntry:
    f = _proto_fields(value)
    shape = ()
    if 2 in f:
        dims = _proto_fields(f[2][0]).get(2, [])
        shape = tuple(_proto_fields(d).get(1, [0])[0] for d in dims)
    return TensorEntry(name, f.get(1, [0])[0], shape, f.get(3, [0])[0], f.get(4, [0])[0], f.get(5, [0])[0],
                       f.get(6, [None])[0])


def _block(data: bytes, offset: int, size: int, path: Path) -> bytes:
    end = offset + size + BLOCK_TRAILER_SIZE
    if end > len(data):
        raise CheckpointError(f"{path}: truncated (a table block ends at byte {end}, the file has {len(data)})")
    block = data[offset:offset + size]
    compression = data[offset + size]
    stored = unmask_crc(struct.unpack_from("<I", data, offset + size + 1)[0])
    if crc32c(data[offset:offset + size + 1]) != stored:
        raise CheckpointError(f"{path}: checksum mismatch in the table block at byte {offset}; the file is corrupt")
    if compression != 0:
        raise CheckpointError(f"{path}: compressed table block (type {compression}); TensorFlow writes "
                              "checkpoint indexes uncompressed, so this is not a checkpoint index")
    return block


def _block_entries(block: bytes):
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * num_restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + length]
        pos += length


def read_index(prefix) -> tuple[dict, dict[str, TensorEntry]]:
    """(header fields, {tensor name: entry}) of ``PREFIX.index``."""
    path = Path(f"{prefix}.index")
    if not path.is_file():
        raise CheckpointError(f"{path}: missing; expected a TensorFlow checkpoint index")
    data = path.read_bytes()
    if len(data) < FOOTER_SIZE or struct.unpack_from("<Q", data, len(data) - 8)[0] != TABLE_MAGIC:
        raise CheckpointError(f"{path}: not a TensorFlow checkpoint index (no table footer; truncated or another file)")
    try:
        footer = data[-FOOTER_SIZE:]
        _, pos = _varint(footer, 0)
        _, pos = _varint(footer, pos)
        index_offset, pos = _varint(footer, pos)
        index_size, pos = _varint(footer, pos)
        header, entries = {}, {}
        for _, handle in _block_entries(_block(data, index_offset, index_size, path)):
            block_offset, p = _varint(handle, 0)
            block_size, _ = _varint(handle, p)
            for key, value in _block_entries(_block(data, block_offset, block_size, path)):
                if key == b"":
                    header = _proto_fields(value)
                else:
                    name = key.decode("utf-8")
                    entries[name] = _entry(name, value)
    except (IndexError, struct.error, ValueError) as err:
        if isinstance(err, CheckpointError):
            raise
        raise CheckpointError(f"{path}: malformed checkpoint index ({err})") from None
    if header.get(2, [0])[0] != 0:
        raise CheckpointError(f"{path}: big-endian checkpoint; only little-endian ones are read")
    return header, entries


def find_checkpoint(path) -> Path:
    """The checkpoint prefix for a prefix, a ``.index`` file, or a folder (its
    ``checkpoint`` file's latest entry, else its single ``*.index``)."""
    path = Path(path)
    if path.suffix == ".index" and path.is_file():
        return path.with_suffix("")
    if Path(f"{path}.index").is_file():
        return path
    if path.is_dir():
        state = path / "checkpoint"
        if state.is_file():
            match = re.search(r'^model_checkpoint_path:\s*"(.*)"\s*$', state.read_text(encoding="utf-8"), re.M)
            if match:
                named = Path(match.group(1))
                # The seed wrote absolute paths; a folder copied or moved since then holds its
                # checkpoint under the same file name, and that copy is the one meant.
                local = path / named.name
                prefix = local if Path(f"{local}.index").is_file() else (named if named.is_absolute() else path / named)
                if not Path(f"{prefix}.index").is_file():
                    raise CheckpointError(f"{state}: names {match.group(1)}, whose .index file is missing")
                return prefix
        indexes = sorted(path.glob("*.index"))
        if len(indexes) == 1:
            return indexes[0].with_suffix("")
        if len(indexes) > 1:
            raise CheckpointError(f"{path}: several checkpoints ({', '.join(i.stem for i in indexes)}) and no "
                                  "`checkpoint` file naming the latest; name one prefix")
    raise CheckpointError(f"{path}: no TensorFlow checkpoint (no .index file, no `checkpoint` file)")


def is_tf_checkpoint(path) -> bool:
    try:
        find_checkpoint(path)
        return True
    except CheckpointError:
        return False


def read_checkpoint(prefix, *, skip=lambda name: False) -> dict[str, np.ndarray]:
    """Every tensor of the checkpoint (except those ``skip(name)`` is true for) as NumPy,
    each one's CRC-32C checked."""
    prefix = find_checkpoint(prefix)
    header, entries = read_index(prefix)
    num_shards = header.get(1, [1])[0]
    shards: dict[int, bytes] = {}
    tensors = {}
    for name, entry in entries.items():
        if skip(name):
            continue
        if entry.shard not in shards:
            shard_path = Path(f"{prefix}.data-{entry.shard:05d}-of-{num_shards:05d}")
            if not shard_path.is_file():
                raise CheckpointError(f"{shard_path}: missing data shard of checkpoint {prefix}")
            shards[entry.shard] = shard_path.read_bytes()
        data = shards[entry.shard]
        shard_name = f"{prefix}.data-{entry.shard:05d}-of-{num_shards:05d}"
        if entry.offset + entry.size > len(data):
            raise CheckpointError(f"{shard_name}: truncated ({name} needs bytes up to {entry.offset + entry.size}, "
                                  f"the file has {len(data)})")
        raw = data[entry.offset:entry.offset + entry.size]
        if entry.crc32c is not None and crc32c(raw) != unmask_crc(entry.crc32c):
            raise CheckpointError(f"{shard_name}: checksum mismatch for {name}; the file is corrupt")
        tensors[name] = _decode(name, entry, raw, shard_name)
    return tensors


def _decode(name: str, entry: TensorEntry, raw: bytes, where: str) -> np.ndarray:
    if entry.dtype == DT_BFLOAT16:
        bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(entry.shape)
    if entry.dtype not in DTYPES:
        raise CheckpointError(f"{where}: {name} has TensorFlow dtype {entry.dtype}, which this reader does not "
                              "decode (numbers and booleans only)")
    dtype = np.dtype(DTYPES[entry.dtype]).newbyteorder("<")
    array = np.frombuffer(raw, dtype=dtype)
    expected = int(np.prod(entry.shape)) if entry.shape else 1
    if array.size != expected:
        raise CheckpointError(f"{where}: {name} holds {array.size} values for shape {entry.shape}")
    return array.reshape(entry.shape).astype(dtype.newbyteorder("="), copy=True)
