"""The fields of an upload's multipart form become a FileResourceCreate: blank fields are
absent, grade_levels and tags repeat, and of any other field sent twice the last one counts."""

import pytest
from pydantic import ValidationError

from schoolbase.models import ResourceType
from schoolbase.resources.schemas import FileResourceCreate


def test_blank_fields_are_absent_and_defaults_apply():
    body = FileResourceCreate.from_form([("title", "Cells"), ("subject", "  "), ("type", ""), ("tags", " ")])
    assert (body.title, body.subject, body.type, body.tags) == ("Cells", None, ResourceType.document, [])


def test_lists_repeat_and_the_last_of_any_other_field_counts():
    fields = [("title", "First"), ("tags", "a"), ("grade_levels", "5"), ("tags", "b"), ("title", "Second")]
    body = FileResourceCreate.from_form(fields)
    assert (body.title, body.tags, body.grade_levels) == ("Second", ["a", "b"], ["5"])


def test_unknown_fields_are_ignored_and_a_missing_title_is_refused():
    with pytest.raises(ValidationError) as raised:
        FileResourceCreate.from_form([("author_id", "someone"), ("file_path", "../x")])
    assert [error["loc"] for error in raised.value.errors()] == [("title",)]
