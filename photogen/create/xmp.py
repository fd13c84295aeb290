"""XMP packets: the claim as IPTC `DigitalSourceType` plus photogen's own fields, written and read back."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from photogen.create.claim import CreationClaim, software

PHOTOGEN_NS = "https://photogen.local/ns/1.0/"


def build_xmp(claim: CreationClaim) -> bytes:
    def field_xml(name: str, value: str | None) -> str:
        return f"<photogen:{name}>{escape(value)}</photogen:{name}>" if value else ""

    body = "".join(
        [
            f"<Iptc4xmpExt:DigitalSourceType>{escape(claim.digital_source_type)}</Iptc4xmpExt:DigitalSourceType>",
            f"<xmp:CreatorTool>{escape(software())}</xmp:CreatorTool>",
            f"<xmp:CreateDate>{escape(claim.created)}</xmp:CreateDate>",
            field_xml("Kind", claim.kind),
            field_xml("CreationId", claim.creation_id),
            field_xml("Model", claim.model),
            field_xml("Style", claim.style),
            field_xml("Template", claim.template),
            field_xml("Edits", "; ".join(claim.edits)),
        ]
    )
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        f'xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:photogen="{PHOTOGEN_NS}">'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


_XMP_FIELD = re.compile(rb"<(Iptc4xmpExt:DigitalSourceType|photogen:\w+)>([^<]{0,500})</\1>")
_XMP_ATTR = re.compile(rb"(Iptc4xmpExt:DigitalSourceType)=\"([^\"]{0,500})\"")


def parse_xmp(packet: bytes | str) -> dict[str, str]:
    """The provenance fields of an XMP packet (element or attribute form), unescaped.

    A regex, not an XML parser: the input is any file a user hands to `verify`, and we read only
    flat fields we know.
    """
    data = packet.encode("utf-8", "replace") if isinstance(packet, str) else packet
    found: dict[str, str] = {}
    for match in [*_XMP_FIELD.finditer(data), *_XMP_ATTR.finditer(data)]:
        key = match.group(1).decode().split(":", 1)[1]
        value = match.group(2).decode("utf-8", "replace")
        found[key] = value.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return found
