from __future__ import annotations

import pytest

from photogen.errors import PhotogenError


def test_roundtrip_and_names_reveal_nothing(library) -> None:
    library.put_blob("thumbnail:abc123", b"Grandma Rosalind in Paris", "thumbnail")
    assert library.get_blob("thumbnail:abc123") == b"Grandma Rosalind in Paris"
    (path,) = library.blobs.all_paths()
    assert "abc123" not in str(path) and "thumbnail" not in str(path)
    assert b"Rosalind" not in path.read_bytes()


def test_tampered_or_swapped_blob_is_detected(library) -> None:
    library.put_blob("a", b"one", "thumbnail")
    library.put_blob("b", b"two", "thumbnail")
    pa, pb = library.blobs.path_for("a"), library.blobs.path_for("b")
    pb.write_bytes(pa.read_bytes())  # a valid ciphertext under the wrong name
    with pytest.raises(PhotogenError, match="damaged"):
        library.get_blob("b")
    raw = bytearray(pa.read_bytes())
    raw[-1] ^= 1
    pa.write_bytes(bytes(raw))
    with pytest.raises(PhotogenError, match="damaged"):
        library.get_blob("a")


def test_garbage_collection_removes_only_unowned_files(library) -> None:
    library.put_blob("kept", b"1", "thumbnail")
    library.blobs.put("orphan-from-a-crash", b"2")  # written, never recorded
    assert library.collect_garbage() == 1
    assert library.get_blob("kept") == b"1"
    assert not library.blobs.exists("orphan-from-a-crash")
