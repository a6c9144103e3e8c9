"""MARC-XML in and out: hardened parsing of ASpace exports, a streamed ``<collection>``.

Parsing never expands entities, loads a DTD or touches the network, so a hostile
export (billion laughs, external entities) fails as a clear error instead of
eating memory or reading local files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from lxml import etree

MARC_NS = "http://www.loc.gov/MARC21/slim"
_RECORD = f"{{{MARC_NS}}}record"
COLLECTION_OPEN = f'<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="{MARC_NS}">\n'.encode()
COLLECTION_CLOSE = b"</collection>\n"


class MarcXmlError(ValueError):
    """An export that is not a well-formed, safe MARC-XML collection."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=True,
    )


def parse_single_record(xml: bytes, source: str) -> etree._Element:
    """The one ``<record>`` of an ASpace MARC export; ``source`` names it in errors."""
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:  # never legitimate in an ASpace export
        raise MarcXmlError(f"{source}: refused a document that declares a DTD or entities")
    try:
        root = etree.fromstring(xml, _parser())
    except etree.XMLSyntaxError as error:
        raise MarcXmlError(f"{source}: invalid XML: {error}") from error
    if root.getroottree().docinfo.internalDTD is not None or _has_entity_references(root):
        raise MarcXmlError(f"{source}: refused a document that declares a DTD or entities")
    records = root.findall(_RECORD) if root.tag != _RECORD else [root]
    if len(records) != 1:
        raise MarcXmlError(f"{source}: expected one MARC record, found {len(records)}")
    # A fresh element: the export's <collection> declares marc: and xsi: prefixes the
    # record does not use, which would otherwise be repeated on every record written.
    record = etree.Element(_RECORD, nsmap={None: MARC_NS})
    record.extend(records[0])
    return record


def _has_entity_references(root: etree._Element) -> bool:
    return next(root.iter(etree.Entity), None) is not None  # lxml filters in C: no proxy per node


def serialize_record(record: etree._Element) -> bytes:
    return etree.tostring(record, encoding="UTF-8") + b"\n"


def stream_collection(records: Iterable[bytes], chunk_size: int = 256 * 1024) -> Iterator[bytes]:
    """The MARC21 slim ``<collection>`` around serialized records, as chunks of about ``chunk_size``."""
    buffer = bytearray(COLLECTION_OPEN)
    for record in records:
        buffer += record
        if len(buffer) >= chunk_size:
            yield bytes(buffer)
            buffer.clear()
    buffer += COLLECTION_CLOSE
    yield bytes(buffer)
