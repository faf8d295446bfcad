"""Assignments and grading (ACCESS.md, "Assignments and grading"). A module per concept,
each working on the session it is given and never committing:

- ``scale``: the organization's letter scale;
- ``categories``: a class's weighted assignment categories;
- ``assignments``: assignments and their states (draft, published, closed);
- ``rubrics``: an assignment's rubric and its criteria;
- ``submissions``: students' work, and the teacher's moves on it (return, excuse, missing);
- ``grades``: grading a submission (by points or rubric), posting, a grade's history;
- ``gradebook``: the class gradebook (JSON and CSV) and a student's own assignments;
- ``access``: who manages a class's grading.

``schemas`` and ``gradebook_schemas`` hold the request and response shapes, ``routes`` the
HTTP API. ``assist/`` is AI-assisted grading; its ``flows`` span transactions and AI calls.
"""
