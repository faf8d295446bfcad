"""The demo's resource portal (Maple Grove): a small category tree, a dozen approved resources
(links and text worksheets; no uploaded files, so the demo needs no file storage) with reviews
and ratings, and a draft and a rejected item of a teacher's own. The AI-generated worksheet
that waits for approval is made later, through the real generation flow (``tenancy/flows.py``)."""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Resource, ResourceCategory, ResourceReview, ResourceState, ResourceType
from schoolbase.tenancy.demo_school import DemoSchool

# name -> (description, children)
CATEGORIES = {
    "Mathematics": ("Number, algebra and data", ["Algebra", "Statistics"]),
    "Science": ("Life and physical sciences", ["Biology", "Physics"]),
    "Computing": ("Programming and how computers work", []),
}

# (title, type, category, subject, grades, author, url or body, tags, reviews {student: (rating, comment)})
RESOURCES = [
    (
        "Khan Academy: one-step equations",
        "video",
        "Algebra",
        "Mathematics",
        ["9"],
        "ada",
        "https://www.khanacademy.org/math/algebra",
        ["equations", "video"],
        {"grace": (5, "Clear and short."), "linus": (4, None), "margaret": (5, "Helped before the quiz.")},
    ),
    (
        "Systems of equations practice",
        "worksheet",
        "Algebra",
        "Mathematics",
        ["9"],
        "ada",
        "1. x + y = 10, x - y = 2\n2. 2x + y = 7, x - y = -1\n3. 3x - 2y = 4, x + y = 3",
        ["systems", "practice"],
        {"grace": (4, "Good practice."), "margaret": (3, "Question 3 was hard.")},
    ),
    (
        "Graphing linear functions (interactive)",
        "interactive_activity",
        "Algebra",
        "Mathematics",
        ["9", "10"],
        "ada",
        "https://www.desmos.com/calculator",
        ["graphs", "slope"],
        {"linus": (5, "Fun to play with.")},
    ),
    (
        "Mean, median and mode",
        "document",
        "Statistics",
        "Mathematics",
        ["9"],
        "ada",
        "https://en.wikipedia.org/wiki/Average",
        ["averages", "data"],
        {"grace": (4, None)},
    ),
    (
        "Reading box plots",
        "link",
        "Statistics",
        "Mathematics",
        ["10"],
        "alan",
        "https://en.wikipedia.org/wiki/Box_plot",
        ["data", "graphs"],
        {},
    ),
    (
        "Cell structure overview",
        "video",
        "Biology",
        "Science",
        ["9"],
        "alan",
        "https://www.khanacademy.org/science/biology",
        ["cells", "video"],
        {"tim": (5, "Great diagrams."), "barbara": (4, None), "grace": (4, "Good summary.")},
    ),
    (
        "Photosynthesis worksheet",
        "worksheet",
        "Biology",
        "Science",
        ["9"],
        "alan",
        "1. Name the two products of photosynthesis.\n2. Where in the cell does it happen?\n"
        "3. Why do leaves look green?",
        ["photosynthesis", "plants"],
        {"tim": (3, "A bit short.")},
    ),
    (
        "Quiz: parts of the cell",
        "quiz",
        "Biology",
        "Science",
        ["9"],
        "alan",
        "1. Which organelle makes energy? A) nucleus B) mitochondrion C) ribosome D) vacuole\n"
        "2. What controls what enters the cell? A) wall B) membrane C) nucleus D) cytoplasm",
        ["cells", "quiz"],
        {"barbara": (5, None)},
    ),
    (
        "Forces and motion simulation",
        "interactive_activity",
        "Physics",
        "Science",
        ["10", "11"],
        "alan",
        "https://phet.colorado.edu/en/simulations/forces-and-motion-basics",
        ["forces", "simulation"],
        {"tim": (4, "Try the friction slider.")},
    ),
    (
        "Newton's laws explained",
        "link",
        "Physics",
        "Science",
        ["10"],
        "alan",
        "https://en.wikipedia.org/wiki/Newton%27s_laws_of_motion",
        ["forces", "laws"],
        {},
    ),
    (
        "Python for beginners",
        "link",
        "Computing",
        "Computing",
        ["10"],
        "ada",
        "https://docs.python.org/3/tutorial/",
        ["python", "programming"],
        {"linus": (5, "The official tutorial is great."), "donald": (4, None), "margaret": (5, None)},
    ),
    (
        "Binary numbers worksheet",
        "worksheet",
        "Computing",
        "Computing",
        ["10"],
        "ada",
        "1. Write 13 in binary.\n2. What is 101101 in decimal?\n3. Add 0111 and 0011.",
        ["binary", "numbers"],
        {"donald": (5, "Loved it."), "linus": (4, None)},
    ),
]


# A teacher's own items: (title, type, url or body, category, state, author, the admin's note)
OWN_ITEMS = [
    ("Quadratic equations (draft)", "worksheet", "1. Solve x² - 5x + 6 = 0.", "Algebra", "draft", "ada", None),
    (
        "Volcano video",
        "video",
        "https://example.org/volcano",
        "Science",
        "rejected",
        "alan",
        "The link does not work; please use a working one.",
    ),
]


@dataclass
class WorksheetWanted:
    """The AI worksheet to generate once the demo is committed, as its teacher."""

    teacher_id: uuid.UUID
    category_id: uuid.UUID
    class_id: uuid.UUID | None


async def load_resources(session: AsyncSession, school: DemoSchool) -> WorksheetWanted | None:
    """Load once: an organization with any resource category is left alone."""
    org_id, people, now = school.organization_id, school.people, school.now
    if await session.scalar(select(exists().where(ResourceCategory.organization_id == org_id))):
        return None
    categories = {}
    for name, (description, children) in CATEGORIES.items():
        parent = ResourceCategory(organization_id=org_id, name=name, description=description)
        session.add(parent)
        await session.flush()
        categories[name] = parent.id
        for child in children:
            row = ResourceCategory(organization_id=org_id, parent_id=parent.id, name=child)
            session.add(row)
            await session.flush()
            categories[child] = row.id
    for number, (title, kind, category, subject, grades, author, content, tags, reviews) in enumerate(RESOURCES):
        linked = content.startswith("https://")
        resource = Resource(
            organization_id=org_id,
            title=title,
            description=f"{title}, for grade {', '.join(grades)}.",
            type=ResourceType(kind),
            url=content if linked else None,
            body=None if linked else content,
            subject=subject,
            grade_levels=grades,
            tags=tags,
            category_id=categories[category],
            state=ResourceState.approved,
            author_id=people[author],
            reviewer_id=people["admin"],
            review_note="Approved for the library.",
            reviewed_at=now - timedelta(days=20 - number),
        )
        session.add(resource)
        await session.flush()
        session.add_all(
            ResourceReview(
                organization_id=org_id, resource_id=resource.id, user_id=people[who], rating=rating, comment=comment
            )
            for who, (rating, comment) in reviews.items()
        )
    for title, kind, content, category, state, author, note in OWN_ITEMS:
        linked = content.startswith("https://")
        session.add(
            Resource(
                organization_id=org_id,
                title=title,
                type=ResourceType(kind),
                url=content if linked else None,
                body=None if linked else content,
                subject=category,
                grade_levels=["9"],
                category_id=categories[category],
                state=ResourceState(state),
                author_id=people[author],
                reviewer_id=people["admin"] if note else None,
                review_note=note,
                reviewed_at=school.now - timedelta(days=2) if note else None,
            )
        )
    await session.flush()
    return WorksheetWanted(people["ada"], categories["Algebra"], school.classes.get("Algebra I"))
