"""The registry's configuration file (``mobileplans config import``;
domains/operator_registry/yaml_io.py ``load_document``).

Contract: a ``RegistryDocument`` or ``ConfigFileError`` with line-precise problems.
Property: ``config export`` of the document (``dump_document``) imports to the same
document.
"""

from __future__ import annotations

from tests.fuzz.support import check, instrumented, main, text

with instrumented():
    from mobileplans.domains.operator_registry.yaml_io import (
        ConfigFileError,
        dump_document,
        load_document,
    )


def TestOneInput(data: bytes) -> None:
    source = text(data)
    try:
        document = load_document(source, url_policy="local")
    except ConfigFileError as exc:
        check(bool(exc.problems) and all(p.message for p in exc.problems), "no problem", source)
        return
    exported = dump_document(document)
    check(load_document(exported, url_policy="local") == document, "export/import", source)


if __name__ == "__main__":
    main(TestOneInput)
