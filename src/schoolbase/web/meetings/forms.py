"""The meetings forms read into the API's own schemas (so a page validates as the API does),
and the room-taken refusal turned into what a person needs: which session, and when."""

from datetime import datetime
from typing import Any

from starlette.datastructures import FormData

from schoolbase.meetings import schemas
from schoolbase.problems import Problem
from schoolbase.web.formatting import parse_local
from schoolbase.web.forms import Errors, parsed, text

ROOM_FIELDS = ("name", "capacity", "join_url")
SESSION_FIELDS = ("title", "starts_at", "ends_at", "class_id")
ITEM_FIELDS = ("title", "assignee_id", "due_date", "description")


def posted(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    """What was typed, to show it again."""
    return {name: text(form, name) or "" for name in names}


def room_form(form: FormData, model: type[schemas.RoomCreate] | type[schemas.RoomUpdate]) -> tuple[Any, dict, Errors]:
    typed = posted(form, ROOM_FIELDS)
    data: dict[str, Any] = {name: value or None for name, value in typed.items()}
    data["active"] = form.get("active") == "on"
    body, errors = parsed(model, data)
    return body, {**typed, "active": data["active"]}, errors


def session_form(form: FormData, time_zone: str) -> tuple[schemas.SessionCreate | None, dict, Errors]:
    typed = posted(form, SESSION_FIELDS)
    data: dict[str, Any] = {"title": typed["title"], "class_id": typed["class_id"] or None}
    errors: Errors = {}
    for name in ("starts_at", "ends_at"):
        try:
            data[name] = parse_local(typed[name], time_zone)
        except ValueError:
            errors[name] = "Enter a date and time, such as 2030-01-07 10:00"
    body, schema_errors = parsed(schemas.SessionCreate, data)
    errors = {**schema_errors, **errors}
    if "form" in errors and "before" in errors["form"]:
        errors["ends_at"] = "The end must be after the start"
        del errors["form"]
    typed["participants"] = [str(value) for value in form.getlist("participant")]
    typed["invite_class"] = form.get("invite_class") == "on"
    return (body if not errors else None), typed, errors


def item_form(form: FormData) -> tuple[schemas.ActionItemCreate | None, dict, Errors]:
    typed = posted(form, ITEM_FIELDS)
    body, errors = parsed(schemas.ActionItemCreate, {name: value for name, value in typed.items() if value})
    return body, typed, errors


def item_update(form: FormData, prefix: str, manages: bool) -> tuple[schemas.ActionItemUpdate | None, Errors]:
    """State and progress (the assignee's part), and the assignee (the host's or an org admin's);
    each item's fields are named ``prefix`` + the schema's names."""
    data: dict[str, Any] = {name: text(form, prefix + name) for name in ("state", "progress_percent")}
    if data["state"] == "done":
        data.pop("progress_percent")  # done means 100 %, the service sets it
    data = {name: value for name, value in data.items() if value is not None}
    if manages and prefix + "assignee_id" in form:
        data["assignee_id"] = text(form, prefix + "assignee_id")
    body, errors = parsed(schemas.ActionItemUpdate, data)
    return body, {prefix + name: message for name, message in errors.items()}


def in_the_way(problem: Problem) -> dict[str, Any] | None:
    """The session in the way of a booking (its title and id only if I may see it), times parsed."""
    found = problem.extra.get("conflicting_session")
    if problem.kind != "session-overlap" or not found:
        return None
    return {
        "id": found.get("id"),
        "title": found.get("title"),
        "starts_at": datetime.fromisoformat(found["starts_at"]),
        "ends_at": datetime.fromisoformat(found["ends_at"]),
    }
