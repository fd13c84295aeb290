from __future__ import annotations

from photogen.create.claim import CreationClaim
from photogen.create.xmp import build_xmp, parse_xmp

TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def test_xmp_round_trip() -> None:
    claim = CreationClaim("ai-generated", model="tiny <test> & co", style="anime")
    fields = parse_xmp(build_xmp(claim))
    assert fields["DigitalSourceType"] == TRAINED
    assert fields["Model"] == "tiny <test> & co" and fields["CreationId"] == claim.creation_id
