"""The shape of the demo's term (``maths.py`` and ``sciences.py`` hold the classes' work): rubrics,
feedback and what each assignment says about itself. ``term.py`` loads it.

An assignment's ``stage`` says how far it got, relative to the day the demo is loaded:
``posted`` (graded, grades posted), ``unposted`` (graded, not posted yet), ``awaiting`` (turned
in, not graded; one submission gets an AI suggestion), ``open`` (due soon or later) and ``draft``
(not published). ``outcomes`` is one letter per student, rotated by the assignment's position so
different students are late or missing on different assignments: ``O`` on time, ``L`` late,
``M`` missing, ``E`` excused (past work); ``S`` turned in already, ``D`` a saved draft, ``-``
nothing yet (open work).
"""

from dataclasses import dataclass
from typing import Literal

from schoolbase.models import AssignmentType

Stage = Literal["posted", "unposted", "awaiting", "open", "draft"]


@dataclass(frozen=True)
class Rubric:
    title: str
    criteria: tuple[tuple[str, str, float], ...]  # (title, description, share of the points)


# Levels of every rubric criterion, as a share of its maximum.
LEVELS = (
    ("Excellent", 1.0, "Complete, accurate and clearly explained."),
    ("Proficient", 0.75, "Mostly complete, with small gaps."),
    ("Developing", 0.5, "Partly there; key steps are missing or unclear."),
    ("Beginning", 0.25, "Started, with major gaps."),
)

WRITTEN = Rubric(
    "Problem solving",
    (
        ("Understanding", "Identifies what the problem asks and the information needed.", 0.4),
        ("Reasoning", "Each step follows from the last and the method fits the problem.", 0.4),
        ("Communication", "Work is neat, labelled and the answer is stated in a sentence.", 0.2),
    ),
)
LAB = Rubric(
    "Lab report",
    (
        ("Hypothesis", "A testable prediction with a reason.", 0.2),
        ("Method and data", "Steps another student could repeat; data in a labelled table.", 0.4),
        ("Analysis", "Explains what the data show, with sources of error.", 0.4),
    ),
)
PROJECT = Rubric(
    "Project",
    (
        ("Requirements", "Meets every requirement in the brief.", 0.4),
        ("Quality", "Accurate, thoughtful and carefully checked.", 0.4),
        ("Presentation", "Organised and easy for a reader to follow.", 0.2),
    ),
)
ARGUMENT = Rubric(
    "Argument essay",
    (
        ("Position", "States a clear position and keeps to it.", 0.4),
        ("Reasons and evidence", "Specific reasons, and a counter-argument answered.", 0.4),
        ("Writing", "Organised paragraphs with accurate spelling and grammar.", 0.2),
    ),
)
CODE = Rubric(
    "Programming assignment",
    (
        ("Correctness", "The program does what the brief asks, including edge cases.", 0.5),
        ("Readability", "Clear names, small functions and helpful comments.", 0.3),
        ("Testing", "Shows how the program was tested and with which inputs.", 0.2),
    ),
)


@dataclass(frozen=True)
class Task:
    title: str
    category: str
    type: AssignmentType
    points: int
    due_in_days: int
    stage: Stage
    outcomes: str
    instructions: str
    answer: str
    rubric: Rubric | None = None
    visible_to_parents: bool = True


@dataclass(frozen=True)
class Course:
    categories: tuple[tuple[str, int, int], ...]  # (name, weight percent, lowest scores dropped)
    tasks: tuple[Task, ...]


HW, QUIZ, TEST, PROJ, ESSAY = (
    AssignmentType.homework,
    AssignmentType.quiz,
    AssignmentType.test,
    AssignmentType.project,
    AssignmentType.essay,
)

# Feedback by the share of the points earned (at least this share: what the teacher writes).
FEEDBACK = (
    (
        0.9,
        (
            "Excellent work: clear, complete and carefully checked.",
            "Outstanding. Your reasoning is easy to follow from start to finish.",
            "Very well done. This is exactly the level of detail I am looking for.",
        ),
    ),
    (
        0.8,
        (
            "Good work. A couple of small slips; look at the questions I marked.",
            "Solid understanding. Show one more step in your working next time.",
            "Nicely done overall; check your final answers against the question.",
        ),
    ),
    (
        0.7,
        (
            "A fair attempt. Review the marked questions and come and see me if they are still unclear.",
            "You have the main idea; the method needs more care in the later questions.",
        ),
    ),
    (
        0.0,
        (
            "Let's go over this together at lunch on Tuesday: the method is not there yet.",
            "Please redo the marked questions; I will look at them again.",
        ),
    ),
)
LATE_NOTE = "Turned in late, so the late penalty applies."
