"""The portal's forms read into the API's own schemas: a new link or text resource, the fields
sent with an uploaded file, an edit, a review, an AI generation and the approval decisions."""

import uuid
from typing import Any

from starlette.datastructures import FormData

from schoolbase.resources.schemas import ResourceOut
from schoolbase.web.forms import text
from schoolbase.web.library.views import TYPE_LABELS

LISTS = ("grade_levels", "tags")
CLEARABLE = ("description", "subject", "category_id", "class_id")
FIELDS = ("title", "description", "type", "url", "body", "subject", "grade_levels", "tags", "category_id")


def split(value: str | None) -> list[str]:
    """``"5, 6"`` → ``["5", "6"]``."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def posted(form: FormData) -> dict[str, str]:
    """The form's fields as typed, to show again."""
    return {name: text(form, name) or "" for name in (*FIELDS, "topic", "grade_level", "kind", "length", "note")}


def resource_data(form: FormData, organization_id: uuid.UUID | None, *, editing: bool = False) -> dict[str, Any]:
    """The fields for ``ResourceCreate`` (or, ``editing``, ``ResourceUpdate``): blank ones are
    left out, except that an edit clears a blank description, subject or category."""
    data: dict[str, Any] = {}
    for name in FIELDS:
        value = text(form, name)
        if name in LISTS:
            if value is not None or editing:
                data[name] = split(value)
        elif value is not None:
            data[name] = value
        elif editing and name in CLEARABLE:
            data[name] = None
    if not editing:
        data["organization_id"] = organization_id
        data["state"] = "pending_review" if text(form, "submit") else "draft"
    return data


def values_of(resource: ResourceOut) -> dict[str, str]:
    """A resource's fields for its edit form."""
    values = {name: getattr(resource, name) for name in FIELDS}
    values = {
        name: ", ".join(v) if isinstance(v, list) else ("" if v is None else str(v)) for name, v in values.items()
    }
    return values


def type_options(include_blank: str | None = None) -> list[tuple[str, str]]:
    options = [(kind.value, label) for kind, label in TYPE_LABELS.items()]
    return [("", include_blank), *options] if include_blank else options


def generate_data(form: FormData, organization_id: uuid.UUID | None) -> dict[str, Any]:
    data: dict[str, Any] = {"organization_id": organization_id}
    for name in ("topic", "grade_level", "kind", "length", "subject", "title", "category_id"):
        if (value := text(form, name)) is not None:
            data[name] = value
    return data
