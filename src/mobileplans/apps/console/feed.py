"""The status page as an Atom feed (RFC 4287): one entry per open platform incident (its
updates in the content) and per announced platform maintenance window."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from mobileplans.apps.console.views import PlatformStatus

ATOM = "http://www.w3.org/2005/Atom"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


def _entry(
    root: ET.Element, entry_id: str, title: str, updated: datetime, body: str, link: str
) -> None:
    entry = ET.SubElement(root, f"{{{ATOM}}}entry")
    _text(entry, "id", entry_id)
    _text(entry, "title", title)
    _text(entry, "updated", updated.isoformat())
    ET.SubElement(entry, f"{{{ATOM}}}link", {"href": link})
    _text(entry, "content", body, type="text")


def atom(status: PlatformStatus, base_url: str) -> bytes:
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", f"{base_url}/status")
    _text(root, "title", "Mobile Plans platform status")
    _text(root, "updated", status.updated.isoformat())
    ET.SubElement(root, f"{{{ATOM}}}link", {"href": f"{base_url}/status/feed.atom", "rel": "self"})
    ET.SubElement(root, f"{{{ATOM}}}link", {"href": f"{base_url}/status"})
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "Mobile Plans operations")
    for incident in status.incidents:
        updates = [f"{e.at:%Y-%m-%d %H:%M} UTC {e.message}" for e in incident.events if e.message]
        updated = max([incident.detected_at, *(e.at for e in incident.events)])
        body = f"Severity {incident.severity}, {incident.status}.\n" + "\n".join(updates)
        _entry(
            root,
            f"{base_url}/status#incident-{incident.id}",
            f"Incident: {incident.title}",
            updated,
            body,
            f"{base_url}/status#incident-{incident.id}",
        )
    for window in status.maintenance:
        _entry(
            root,
            f"{base_url}/status#maintenance-{window.id}",
            f"Maintenance {window.starts_at:%Y-%m-%d %H:%M}–{window.ends_at:%H:%M} UTC",
            window.announced_at,
            window.impact,
            f"{base_url}/status#maintenance-{window.id}",
        )
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document
