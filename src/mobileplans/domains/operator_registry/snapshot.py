"""An immutable, in-memory view of the registry for hot paths (architecture decision 4).

Built from the database in one read, swapped atomically when the configuration
version changes. ICCID resolution and the provider catalog are served from here
without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from mobileplans.config import Environment
from mobileplans.domains.operator_registry import mapping, repository
from mobileplans.domains.operator_registry.iccid_index import IccidIndex
from mobileplans.domains.operator_registry.phone_numbers import PhoneIndex, PrefixRef
from mobileplans.domains.operator_registry.schemas import OperatorSpec, PhoneNumberRead
from mobileplans.errors import NotFound
from mobileplans.kit.identifiers import parse_phone_number


@dataclass(frozen=True, slots=True)
class RegistrySnapshot:
    version: int
    index: IccidIndex
    operators: dict[str, OperatorSpec]
    by_country: dict[tuple[str, str], list[OperatorSpec]] = field(default_factory=dict)
    phones: PhoneIndex = field(default_factory=lambda: PhoneIndex(()))

    def providers(self, environment: str, country: str) -> list[OperatorSpec]:
        """Enabled operators serving ``country`` in ``environment``, sorted by brand name."""
        return self.by_country.get((environment, country), [])

    def phone_number(self, raw: str, environment: Environment) -> PhoneNumberRead:
        """``GET /v1/phone-numbers/{e164}`` (spec 1.11, 2.10; seed 004 step 1): the operator
        whose prefixes hold the number, longest prefix first. ``IdentifierError`` naming
        ``phoneNumber`` if malformed; ``NotFound`` when no operator enabled in
        ``environment`` serves it."""
        number = parse_phone_number(raw, field="phoneNumber")
        owner = self.phones.resolve(number)
        operator = self.operators.get(owner) if owner else None
        settings = operator.environments.get(environment) if operator else None
        if operator is None or settings is None or not settings.enabled:
            raise NotFound(
                f"phone number {number} is served by no operator in {environment.value}",
                phoneNumber=number,
            )
        return PhoneNumberRead(
            phone_number=number,
            operator_id=operator.id,
            brand_name=operator.brand_name,
            environment=environment,
        )


def build_snapshot(version: int, operators: list[OperatorSpec]) -> RegistrySnapshot:
    refs = [mapping.spec_range_ref(op.id, rng) for op in operators for rng in op.iccid_ranges]
    by_country: dict[tuple[str, str], list[OperatorSpec]] = {}
    for op in sorted(operators, key=lambda o: (o.brand_name.casefold(), o.id)):
        for environment, settings in op.environments.items():
            if not settings.enabled:
                continue
            for country in op.countries:
                by_country.setdefault((environment.value, country), []).append(op)
    return RegistrySnapshot(
        version=version,
        index=IccidIndex(refs),
        operators={op.id: op for op in operators},
        by_country=by_country,
        phones=PhoneIndex(
            PrefixRef(op.id, prefix) for op in operators for prefix in op.phone_prefixes or ()
        ),
    )


async def load_snapshot(session: AsyncSession) -> RegistrySnapshot:
    version = await repository.config_version(session)
    operators = [mapping.to_spec(row) for row in await repository.list_all(session)]
    return build_snapshot(version, operators)
