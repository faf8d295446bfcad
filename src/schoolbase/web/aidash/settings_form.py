"""The AI settings form: the organization's settings as form values, and the posted form read
into ``AiSettingsUpdate`` (the schema of ``PATCH /organizations/{id}/ai-settings``), so the
page validates exactly as the API does."""

from typing import Any

from starlette.datastructures import FormData

from schoolbase.ai.schemas import AiSettingsOut, AiSettingsUpdate
from schoolbase.models import MembershipRole
from schoolbase.web.aidash.views import FEATURES
from schoolbase.web.forms import Errors, parsed

ROLES = {
    MembershipRole.student: "Students",
    MembershipRole.teacher: "Teachers",
    MembershipRole.org_admin: "Org admins",
    MembershipRole.parent: "Parents",
}
NUMBERS = (
    "monthly_budget_usd",
    "daily_token_quota_per_user",
    "daily_request_quota_per_user",
    "rate_limit_per_minute",
    "rate_limit_per_hour",
    "rate_limit_per_day",
    "retention_days",
)
OPTIONAL = {"monthly_budget_usd", "daily_token_quota_per_user", "daily_request_quota_per_user"}


def _shown(value: Any) -> str:
    return "" if value is None else str(value)


def from_settings(settings: AiSettingsOut) -> dict[str, Any]:
    """What the form shows: text for the number fields, booleans and lists for the choices."""
    values: dict[str, Any] = {name: _shown(getattr(settings, name)) for name in NUMBERS}
    for feature in FEATURES:
        values[f"{feature}_enabled"] = getattr(settings, f"{feature}_enabled")
        values[f"{feature}_roles"] = [str(role) for role in getattr(settings, f"{feature}_roles")]
    chosen = settings.allowed_service_ids
    values["models"] = "all" if chosen is None else "chosen"
    values["allowed_service_ids"] = [str(s) for s in chosen or []]
    values["store_prompts"] = settings.store_prompts
    values["alert_thresholds_percent"] = ", ".join(str(t) for t in settings.alert_thresholds_percent)
    return values


def from_posted(form: FormData) -> dict[str, Any]:
    """The posted form in the shape ``from_settings`` gives (to show it again as it was sent)."""
    values: dict[str, Any] = {name: str(form.get(name) or "").strip() for name in NUMBERS}
    for feature in FEATURES:
        values[f"{feature}_enabled"] = form.get(f"{feature}_enabled") == "on"
        values[f"{feature}_roles"] = [str(v) for v in form.getlist(f"{feature}_roles")]
    values["models"] = "chosen" if form.get("models") == "chosen" else "all"
    values["allowed_service_ids"] = [str(v) for v in form.getlist("allowed_service_ids")]
    values["store_prompts"] = form.get("store_prompts") == "on"
    values["alert_thresholds_percent"] = str(form.get("alert_thresholds_percent") or "").strip()
    return values


def read(values: dict[str, Any]) -> tuple[AiSettingsUpdate | None, Errors]:
    """Every setting, as a full update: an empty budget or quota means none (an explicit null,
    as the API takes it); "all models" clears the list of allowed models."""
    data: dict[str, Any] = {}
    missing: Errors = {}
    for name in NUMBERS:
        value = values[name].replace(",", "").removeprefix("$")
        data[name] = None if name in OPTIONAL and value == "" else value
        if value == "" and name not in OPTIONAL:
            missing[name] = "Enter a whole number."
    for feature in FEATURES:
        data[f"{feature}_enabled"] = values[f"{feature}_enabled"]
        data[f"{feature}_roles"] = values[f"{feature}_roles"]
    data["allowed_service_ids"] = values["allowed_service_ids"] if values["models"] == "chosen" else None
    data["store_prompts"] = values["store_prompts"]
    thresholds = values["alert_thresholds_percent"]
    data["alert_thresholds_percent"] = [t.strip() for t in thresholds.split(",") if t.strip()]
    body, errors = parsed(AiSettingsUpdate, data)
    found: Errors = dict(missing)
    for name, message in errors.items():  # a list item's error belongs to its field
        found.setdefault(name.split(".")[0], message)
    if found:
        return None, found
    if values["models"] == "chosen" and not values["allowed_service_ids"]:
        return None, {"allowed_service_ids": "Choose at least one model, or allow all models."}
    return body, {}
