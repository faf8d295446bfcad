import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, ForeignKeyConstraint, func, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Timestamps:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()"))


class TenantRow(Timestamps):
    """A row owned by one organization; every reference to it carries the organization id."""

    id: Mapped[uuid.UUID] = uuid_pk()
    organization_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))


def pg_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum the migrations create, stored by value."""
    return Enum(cls, name=name, create_type=False, values_callable=lambda e: [m.value for m in e])


def org_fk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("organizations.id", ondelete="CASCADE"))


def user_fk(ondelete: str | None = None) -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), ForeignKey("users.id", ondelete=ondelete))


def tenant_fk(
    table: str, *, ondelete: str | None = None, name: str | None = None, **columns: str
) -> ForeignKeyConstraint:
    """A composite foreign key that carries the organization id: ``organization_id`` plus each
    ``local="remote"`` column pair, to the same columns of ``table``. So a row can only ever
    point at a row of its own organization."""
    local = ["organization_id", *columns]
    remote = [f"{table}.{column}" for column in ["organization_id", *columns.values()]]
    return ForeignKeyConstraint(local, remote, ondelete=ondelete, name=name)
