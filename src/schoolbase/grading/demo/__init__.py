"""The demo's term of work: what each demo class did (``maths.py``, ``sciences.py``, in the
shapes of ``content.py``) and how it is loaded (``term.py``)."""

from schoolbase.grading.demo.content import Course
from schoolbase.grading.demo.maths import ALGEBRA, COMPUTING
from schoolbase.grading.demo.sciences import BIOLOGY, PHYSICS
from schoolbase.grading.demo.term import DemoClass, Waiting, load_term

COURSES: dict[str, Course] = {
    "Algebra I": ALGEBRA,
    "Biology": BIOLOGY,
    "Computer Science": COMPUTING,
    "Physics": PHYSICS,
}

__all__ = ["COURSES", "DemoClass", "Waiting", "load_term"]
