"""Without an AI key the offline provider still makes grading suggestions that fit the rubric,
so AI-assisted grading works in a demo: valid, deterministic and labelled as made without AI."""

import uuid
from decimal import Decimal

from schoolbase.ai.gateway import answer_text
from schoolbase.ai.providers.offline import GRADING_LABEL, OfflineProvider
from schoolbase.grading.assist.prompt import Criterion, Target, build_request, parse_answer

LEVELS = [
    {"title": "Excellent", "points": 4.0, "description": None},
    {"title": "Good", "points": 3.0, "description": None},
    {"title": "Developing", "points": 1.5, "description": None},
]


def target(body: str) -> Target:
    criteria = [
        Criterion(uuid.uuid4(), 1, "Thesis", "a clear claim", Decimal(4), LEVELS),
        Criterion(uuid.uuid4(), 2, "Evidence", None, Decimal("6.5"), []),
    ]
    return Target(
        organization_id=uuid.uuid4(),
        class_id=uuid.uuid4(),
        assignment_id=uuid.uuid4(),
        submission_id=uuid.uuid4(),
        student_id=uuid.uuid4(),
        assignment_title="Essay",
        assignment_type="essay",
        instructions="Argue a point.",
        points_possible=Decimal("10.5"),
        body=body,
        links=[],
        rubric_title="Essay rubric",
        criteria=criteria,
    )


async def suggestion(work: Target):
    completion = await OfflineProvider().create(
        "claude-haiku-4-5", build_request(work, "claude-haiku").provider_params()
    )
    return completion, parse_answer(answer_text(completion.message), work.criteria)


async def test_an_offline_suggestion_fits_the_rubric_and_says_it_is_not_ai():
    work = target("Plants make sugar from light.")
    completion, answer = await suggestion(work)
    thesis, evidence = answer.scores
    assert (thesis.level, thesis.points) in {(level["title"], Decimal(str(level["points"]))) for level in LEVELS}
    assert evidence.level is None and Decimal(0) < evidence.points <= Decimal("6.5")
    assert evidence.points % Decimal("0.5") == 0
    assert GRADING_LABEL in answer.feedback and all(GRADING_LABEL in s.comment for s in answer.scores)
    assert Decimal("0.5") <= answer.confidence <= Decimal("0.8")
    assert completion.usage.output_tokens > 0


async def test_the_same_work_gets_the_same_suggestion():
    work = target("Photosynthesis turns light into chemical energy.")
    (_, first), (_, again) = await suggestion(work), await suggestion(work)
    assert first == again


async def test_different_work_can_get_different_scores():
    answers = {tuple(s.points for s in (await suggestion(target(f"Answer number {i}")))[1].scores) for i in range(12)}
    assert len(answers) > 1
