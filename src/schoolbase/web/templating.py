"""The pages' Jinja2 environment (autoescaped, strict about undefined names) and ``render``."""

from typing import Any

from fastapi import Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, pass_context, select_autoescape

from schoolbase.problems import Problem
from schoolbase.web import formatting
from schoolbase.web.context import PageContext

_environment = Environment(
    loader=PackageLoader("schoolbase.web", "templates"),
    autoescape=select_autoescape(default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _zoned(function):
    @pass_context
    def filter_(context, value):
        return function(value, context["page"].time_zone)

    return filter_


_environment.filters.update(
    points=formatting.points,
    percent=formatting.percent,
    when=_zoned(formatting.when),
    day=_zoned(formatting.day),
    field_value=_zoned(formatting.field_value),
)
templates = Jinja2Templates(env=_environment)


def render(
    page: PageContext, name: str, status_code: int = 200, *, problem_shown: Problem | None = None, **context: Any
) -> Response:
    """The template ``name`` with ``page`` (who is looking, in which organization, the form token);
    a refusal the page explains keeps its headers (``Retry-After``)."""
    response = templates.TemplateResponse(page.request, name, {"page": page, **context}, status_code=status_code)
    if problem_shown is not None:
        response.headers.update(problem_shown.headers)
    page.finish(response)
    return response
