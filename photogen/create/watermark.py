"""An invisible watermark that says "made by photogen" and survives a JPEG re-save and a resize.

Why our own and not `invisible-watermark` (imwatermark): its only PyPI release (0.2.0) requires
`torch` and `opencv-python` (the GUI build, which clashes with the `opencv-python-headless` this
project uses: both install the same `cv2` module), and its default `dwtDct` method does not survive
resizing, which the issue requires.

How it works: the luminance is resampled to a fixed canonical grid (256x256, whatever the image's
size), so a resized copy maps back onto the same grid. On that grid each 8x8 block carries one bit of
a 64-bit payload as the sign of the difference between two low-mid DCT coefficients (a relation, not
an absolute value, so brightness and contrast changes leave it alone). Every bit is repeated in 16
blocks spread over the image by a fixed permutation; decoding sums the evidence of the 16. The change
made on the canonical grid is upsampled smoothly onto the full image, so it is low-frequency there:
JPEG keeps it and a 50% downscale keeps it.

Limits: an image under ~512 px on its short side has too few pixels left after a 50% resize to
fill the 256 grid, so only its re-saves survive, not its downscales (photogen's outputs are 512 px and
up); a crop or a rotation moves the grid and loses the mark.

The payload is a 16-bit magic, a 2-bit kind, a 30-bit creation fingerprint and a 16-bit CRC over
the rest: a plain photo decodes to a random 64-bit word, which matches magic and CRC with
probability 2^-32.
"""

from __future__ import annotations

import binascii
import hashlib
import logging
from dataclasses import dataclass
from enum import IntEnum

import cv2
import numpy as np
from PIL import Image

logger = logging.getLogger(__name__)

CANONICAL = 256
BLOCK = 8
PAYLOAD_BITS = 64
MAGIC = 0x9E37  # arbitrary, fixed forever: changing it orphans every file already marked
# two mid-low frequency DCT coefficients of an 8x8 block: low enough to survive the canonical->full->
# canonical round trip and JPEG quantization, high enough to stay invisible on smooth areas
_COEF_A = (1, 2)
_COEF_B = (2, 1)
_STRENGTH = 9.0  # target |C_a - C_b| on the canonical grid, in 0-255 luminance DCT units
_ROUNDS = 4  # re-measure on the real (clipped, rounded) result and top up blocks that fell short
_PERMUTATION_SEED = 0x70686F74  # "phot"


class WatermarkKind(IntEnum):
    """What the marked image is, carried in two payload bits."""

    AI_GENERATED = 1
    AI_COMPOSITE = 2  # real photos kept untouched on an AI-generated background
    INSTANT = 3  # classical filters, no generative model


@dataclass(frozen=True)
class WatermarkPayload:
    kind: WatermarkKind
    fingerprint: int  # 30 bits derived from the creation id, see `creation_fingerprint`


@dataclass(frozen=True)
class WatermarkReading:
    """What decoding found. `payload` is set only when magic and CRC both match."""

    payload: WatermarkPayload | None
    bit_confidence: float  # mean |evidence| per bit relative to the embedding strength; ~0 on a plain photo
    bits: tuple[int, ...]

    @property
    def found(self) -> bool:
        return self.payload is not None


def creation_fingerprint(creation_id: str) -> int:
    """30 bits of a creation id's SHA-256: enough to tell creations apart, too few to reverse."""
    return int.from_bytes(hashlib.sha256(creation_id.encode("utf-8")).digest()[:4], "big") >> 2


def _crc16(value: int) -> int:
    return binascii.crc_hqx(value.to_bytes(6, "big"), 0xFFFF)


def encode_payload(payload: WatermarkPayload) -> np.ndarray:
    body = (MAGIC << 32) | (int(payload.kind) << 30) | (payload.fingerprint & 0x3FFFFFFF)
    word = (body << 16) | _crc16(body)
    return np.array([(word >> (63 - i)) & 1 for i in range(PAYLOAD_BITS)], dtype=np.int8)


def decode_payload(bits: np.ndarray) -> WatermarkPayload | None:
    word = 0
    for b in bits:
        word = (word << 1) | int(b)
    body, crc = word >> 16, word & 0xFFFF
    if body >> 32 != MAGIC or _crc16(body) != crc:
        return None
    kind_value = (body >> 30) & 0b11
    if kind_value not in WatermarkKind._value2member_map_:
        return None
    return WatermarkPayload(kind=WatermarkKind(kind_value), fingerprint=body & 0x3FFFFFFF)


def _block_assignment() -> np.ndarray:
    """Which payload bit each canonical block carries: every bit in 16 blocks scattered over the image."""
    n_blocks = (CANONICAL // BLOCK) ** 2
    order = np.random.default_rng(_PERMUTATION_SEED).permutation(n_blocks)
    assignment = np.empty(n_blocks, dtype=np.int64)
    assignment[order] = np.arange(n_blocks) % PAYLOAD_BITS
    return assignment.reshape(CANONICAL // BLOCK, CANONICAL // BLOCK)


_ASSIGNMENT = _block_assignment()
_PER_BIT = (CANONICAL // BLOCK) ** 2 // PAYLOAD_BITS


def _dct_basis() -> np.ndarray:
    """The 8x8 orthonormal DCT matrix, so all blocks transform at once with two matmuls."""
    k = np.arange(BLOCK)
    basis = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK)) * np.sqrt(2 / BLOCK)
    basis[0] /= np.sqrt(2)
    return basis


_D = _dct_basis()


def _blocks(canonical: np.ndarray) -> np.ndarray:
    n = CANONICAL // BLOCK
    return canonical.reshape(n, BLOCK, n, BLOCK).transpose(0, 2, 1, 3)


def _evidence(canonical: np.ndarray) -> np.ndarray:
    """C_a - C_b for every block, shape (32, 32)."""
    coeffs = _D @ _blocks(canonical) @ _D.T
    return coeffs[:, :, _COEF_A[0], _COEF_A[1]] - coeffs[:, :, _COEF_B[0], _COEF_B[1]]


def _luma(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)[:, :, 0].astype(np.float32)


def _to_canonical(luma: np.ndarray) -> np.ndarray:
    h, w = luma.shape
    interp = cv2.INTER_AREA if h >= CANONICAL and w >= CANONICAL else cv2.INTER_LINEAR
    return cv2.resize(luma, (CANONICAL, CANONICAL), interpolation=interp).astype(np.float64)


def embed_watermark(image: Image.Image, payload: WatermarkPayload) -> Image.Image:
    """A copy of `image` (RGB) carrying `payload`; PSNR is typically above 40 dB."""
    rgb = np.asarray(image.convert("RGB"))
    h, w = rgb.shape[:2]
    if min(h, w) < 2 * CANONICAL:
        logger.info("image is %dx%d: its watermark survives re-saves but not a 50%% downscale", w, h)
    signs = (encode_payload(payload)[_ASSIGNMENT] * 2 - 1).astype(np.float64)
    ycc = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    base_luma = ycc[:, :, 0].copy()
    delta_full = np.zeros((h, w), dtype=np.float32)
    # The target is measured on what a reader will see (the clipped, rounded result mapped back to
    # the canonical grid), so blocks lost to clipping or resampling get topped up in later rounds.
    for _ in range(_ROUNDS):
        luma = np.clip(np.rint(base_luma + delta_full), 0, 255)
        # the reader sums a bit's 16 blocks, so the constraint is on the sum: spreading the shortfall
        # evenly over the 16 is the least-energy way to meet it (and content that already agrees is free)
        evidence = signs * _evidence(_to_canonical(luma))
        per_bit = np.bincount(_ASSIGNMENT.ravel(), weights=evidence.ravel(), minlength=PAYLOAD_BITS) / _PER_BIT
        shortfall = np.maximum(_STRENGTH - per_bit, 0.0)[_ASSIGNMENT]
        need = shortfall * signs
        if not need.any():
            break
        coeffs = np.zeros((CANONICAL // BLOCK, CANONICAL // BLOCK, BLOCK, BLOCK))
        # overshoot a little: the upsample/downsample round trip attenuates the change
        coeffs[:, :, _COEF_A[0], _COEF_A[1]] = need * 0.65
        coeffs[:, :, _COEF_B[0], _COEF_B[1]] = -need * 0.65
        spatial = (_D.T @ coeffs @ _D).transpose(0, 2, 1, 3).reshape(CANONICAL, CANONICAL)
        delta_full += cv2.resize(spatial.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    ycc[:, :, 0] = np.clip(np.rint(base_luma + delta_full), 0, 255)
    out = cv2.cvtColor(ycc.astype(np.uint8), cv2.COLOR_YCrCb2RGB)
    return Image.fromarray(out, "RGB")


def read_watermark(image: Image.Image) -> WatermarkReading:
    """Decode the payload from any size of the image; a plain photo gives `found == False`."""
    evidence = _evidence(_to_canonical(_luma(np.asarray(image.convert("RGB")))))
    sums = np.bincount(_ASSIGNMENT.ravel(), weights=evidence.ravel(), minlength=PAYLOAD_BITS)
    bits = (sums > 0).astype(np.int8)
    confidence = float(np.mean(np.abs(sums)) / (_PER_BIT * _STRENGTH))
    return WatermarkReading(payload=decode_payload(bits), bit_confidence=confidence, bits=tuple(int(b) for b in bits))


def bit_accuracy(reading: WatermarkReading, payload: WatermarkPayload) -> float:
    """Share of the 64 bits read back correctly (for benchmarks and tests)."""
    return float(np.mean(np.array(reading.bits) == encode_payload(payload)))
