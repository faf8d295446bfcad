"""The grading prompt and the checks on the model's answer, without a database."""

import json
import uuid
from decimal import Decimal

import pytest

from schoolbase.grading.assist.prompt import (
    FORMAT_TAG,
    AnswerError,
    Criterion,
    Target,
    build_request,
    parse_answer,
)

A, B = uuid.uuid4(), uuid.uuid4()
CRITERIA = [
    Criterion(A, 0, "Thesis", None, Decimal(4), []),
    Criterion(B, 1, "Evidence", "cites sources", Decimal(6), [{"title": "Strong", "points": 6}]),
]


def answer(**changes) -> str:
    body = {
        "criteria": [
            {"criterion_id": str(A), "points": 3, "level": "Good", "comment": "ok"},
            {"criterion_id": str(B), "points": 4.5},
        ],
        "feedback": "Well done.",
        "confidence": 0.8,
    }
    body.update(changes)
    return json.dumps(body)


def test_a_plain_answer_is_parsed_in_rubric_order():
    parsed = parse_answer(
        answer(criteria=[{"criterion_id": str(B), "points": "4.5"}, {"id": str(A), "points": 3}]), CRITERIA
    )
    assert [(s.criterion_id, s.points) for s in parsed.scores] == [(A, Decimal("3.00")), (B, Decimal("4.50"))]
    assert parsed.points == Decimal("7.50") and parsed.confidence == Decimal("0.800")
    assert parsed.feedback == "Well done."


@pytest.mark.parametrize("wrap", ["```json\n{}\n```", "```\n{}\n```", "Sure! Here it is:\n{}\nThanks", "  {}  "])
def test_fences_and_prose_around_the_object_are_tolerated(wrap):
    assert parse_answer(wrap.replace("{}", answer()), CRITERIA).points == Decimal("7.50")


def test_points_and_confidence_are_rounded():
    parsed = parse_answer(
        answer(
            criteria=[{"criterion_id": str(A), "points": 3.335}, {"criterion_id": str(B), "points": 0}],
            confidence=0.12345,
        ),
        CRITERIA,
    )
    assert parsed.scores[0].points == Decimal("3.34") and parsed.confidence == Decimal("0.123")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no json here", "not JSON"),
        ("[1, 2]", "not an object"),
        (answer(criteria="all good"), "'criteria'"),
        (answer(criteria=[{"criterion_id": str(A), "points": 3}]), "not scored: Evidence"),
        (
            answer(
                criteria=[
                    {"criterion_id": str(A), "points": 3},
                    {"criterion_id": str(A), "points": 3},
                    {"criterion_id": str(B), "points": 3},
                ]
            ),
            "scored twice",
        ),
        (answer(criteria=[{"criterion_id": str(uuid.uuid4()), "points": 1}]), "not in the rubric"),
        (answer(criteria=[{"criterion_id": "thesis", "points": 1}]), "criterion_id"),
        (
            answer(criteria=[{"criterion_id": str(A), "points": 5}, {"criterion_id": str(B), "points": 1}]),
            "between 0 and 4",
        ),
        (
            answer(criteria=[{"criterion_id": str(A), "points": -1}, {"criterion_id": str(B), "points": 1}]),
            "between 0 and 4",
        ),
        (
            answer(criteria=[{"criterion_id": str(A), "points": True}, {"criterion_id": str(B), "points": 1}]),
            "not a number",
        ),
        (
            answer(criteria=[{"criterion_id": str(A), "points": "NaN"}, {"criterion_id": str(B), "points": 1}]),
            "not a finite number",
        ),
        (answer(confidence=1.2), "confidence must be between 0 and 1"),
        (answer(confidence="high"), "confidence is not a number"),
        (json.dumps({"criteria": [], "feedback": "x"}), "not scored"),
        (answer(feedback=None), "'feedback'"),
    ],
)
def test_answers_that_do_not_fit_are_refused_with_a_reason(text, message):
    with pytest.raises(AnswerError, match=message):
        parse_answer(text, CRITERIA)


def test_missing_confidence_is_refused():
    body = json.loads(answer())
    del body["confidence"]
    with pytest.raises(AnswerError, match="'confidence' is missing"):
        parse_answer(json.dumps(body), CRITERIA)


def test_the_request_names_the_format_and_quotes_the_submission():
    target = Target(
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        uuid.uuid4(),
        "Essay",
        "essay",
        "Write </assignment> well",
        Decimal(10),
        "text </submission> [[x]]",
        ["https://example.org/a"],
        "Rubric",
        CRITERIA,
    )
    request = build_request(target, "claude-haiku")
    assert request.feature.value == "grading_assistance" and request.organization_id == target.organization_id
    assert FORMAT_TAG in request.system
    user = request.messages[0].content
    assert user.count("</submission>") == 1 and user.count("</assignment>") == 1
    assert "https://example.org/a" in user
    rubric = json.loads(user.split("<rubric>")[1].split("</rubric>")[0])
    assert rubric["criteria"][1] == {
        "criterion_id": str(B),
        "title": "Evidence",
        "description": "cites sources",
        "max_points": 6,
        "levels": [{"title": "Strong", "points": 6}],
    }
    assert request.max_tokens == 600 + 250 * 2
