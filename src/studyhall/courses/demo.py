"""``studyhall demo``: a small catalogue (subjects, topics, courses, a paid and a free product).

Idempotent: every row is found by its natural name before it is created.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from studyhall.config import Settings
from studyhall.courses.models import (
    Course,
    CourseProduct,
    CourseSection,
    Lesson,
    Product,
    Subject,
    Topic,
)

TAXONOMY = {
    "Mathematics": [("Linear equations", 2), ("Quadratic equations", 3), ("Derivatives", 4)],
    "Physics": [("Kinematics", 2), ("Newton's laws", 3)],
}

# course title -> (description, [(section, status, [(lesson, status, topic, minutes)])])
COURSES: dict[str, tuple[str, list[tuple[str, str, list[tuple[str, str, str, int]]]]]] = {
    "Algebra from scratch": (
        "Solve linear and quadratic equations with confidence.",
        [
            (
                "Linear equations",
                "public",
                [
                    ("What is an equation?", "preview", "Linear equations", 8),
                    ("Balancing both sides", "public", "Linear equations", 12),
                    ("Word problems", "public", "Linear equations", 15),
                ],
            ),
            (
                "Quadratics",
                "public",
                [
                    ("Factoring", "public", "Quadratic equations", 14),
                    ("The quadratic formula", "public", "Quadratic equations", 16),
                ],
            ),
            ("Exam drills (coming soon)", "private", []),
        ],
    ),
    "Calculus I": (
        "Limits, derivatives and their everyday meaning.",
        [
            (
                "Derivatives",
                "public",
                [
                    ("Rates of change", "preview", "Derivatives", 10),
                    ("The power rule", "public", "Derivatives", 12),
                ],
            ),
        ],
    ),
    "Mechanics primer": (
        "Motion and forces, free for everyone.",
        [
            (
                "Motion",
                "public",
                [
                    ("Velocity and acceleration", "public", "Kinematics", 11),
                    ("Free fall", "public", "Kinematics", 9),
                    ("Newton's three laws", "public", "Newton's laws", 13),
                ],
            ),
        ],
    ),
}

PRODUCTS = [
    (
        "Math bundle",
        "Algebra and calculus, lifetime access.",
        4900,
        ["Algebra from scratch", "Calculus I"],
    ),
    ("Mechanics primer (free)", "A free taste of physics.", 0, ["Mechanics primer"]),
]


async def _taxonomy(session: AsyncSession) -> dict[str, uuid.UUID]:
    topics: dict[str, uuid.UUID] = {}
    for subject_name, entries in TAXONOMY.items():
        subject = await session.scalar(select(Subject).where(Subject.name == subject_name))
        if subject is None:
            subject = Subject(name=subject_name, description=f"Demo subject: {subject_name}.")
            session.add(subject)
            await session.flush()
        for topic_name, level in entries:
            topic = await session.scalar(
                select(Topic).where(Topic.subject_id == subject.id, Topic.name == topic_name)
            )
            if topic is None:
                topic = Topic(subject_id=subject.id, name=topic_name, difficulty_level=level)
                session.add(topic)
                await session.flush()
            topics[topic_name] = topic.id
    return topics


async def _course(
    session: AsyncSession, title: str, topics: dict[str, uuid.UUID]
) -> tuple[uuid.UUID, bool]:
    existing = await session.scalar(select(Course.id).where(Course.title == title))
    if existing is not None:
        return existing, False
    description, sections = COURSES[title]
    course = Course(title=title, description=description)
    session.add(course)
    await session.flush()
    for s_index, (name, status, lessons) in enumerate(sections, start=1):
        section = CourseSection(course_id=course.id, name=name, status=status, position=s_index)
        session.add(section)
        await session.flush()
        for l_index, (lesson_title, lesson_status, topic, minutes) in enumerate(lessons, start=1):
            session.add(
                Lesson(
                    section_id=section.id,
                    title=lesson_title,
                    status=lesson_status,
                    position=l_index,
                    content=f"# {lesson_title}\n\nDemo lesson content for *{title}*.",
                    topic_id=topics[topic],
                    estimated_duration_minutes=minutes,
                )
            )
    await session.flush()
    return course.id, True


async def load(session: AsyncSession, settings: Settings) -> list[str]:
    topics = await _taxonomy(session)
    course_ids: dict[str, uuid.UUID] = {}
    created = 0
    for title in COURSES:
        course_ids[title], new = await _course(session, title, topics)
        created += int(new)
    products = 0
    for name, description, price, titles in PRODUCTS:
        if await session.scalar(select(Product.id).where(Product.name == name)) is not None:
            continue
        product = Product(
            name=name,
            description=description,
            image_url=f"https://picsum.photos/seed/{name.split()[0].lower()}/640/360",
            price_cents=price,
            currency="USD",
            status="public",
        )
        session.add(product)
        await session.flush()
        for title in titles:
            session.add(CourseProduct(course_id=course_ids[title], product_id=product.id))
        products += 1
    await session.flush()
    return [
        f"courses: {len(TAXONOMY)} subjects, {len(topics)} topics, "
        f"{created} new courses ({len(COURSES)} in the catalogue), {products} new products"
    ]
