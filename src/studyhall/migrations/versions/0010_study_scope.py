"""Study scope: course materials join a learner's retrieval scope; quizzes and artifacts by topic.

- ``lessons.material_id → materials`` (RESTRICT: a material a lesson uses cannot disappear).
- ``quizzes.topic_id`` / ``ai_artifacts.topic_id → topics`` (SET NULL), indexed.
- ``studyhall_course_materials(reader)``: the materials of lessons ``reader`` may read through
  courses (lessons of the courses they author; published lessons of courses they hold live
  access to), with each lesson's topic. The courses service and the row level security policies
  below both use it, so the rule is written once.
- ``materials`` / ``material_chunks``: a second, read-only policy lets a learner see those rows.

Revision ID: 0010_study_scope
Revises: 0009_payment_methods
Create Date: 2026-11-22
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010_study_scope"
down_revision: str | None = "0009_payment_methods"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Two index-friendly branches (course_access (user_id, course_id) live, courses (author_id),
# course_sections (course_id, position), lessons (section_id, position)); UNION removes repeats.
COURSE_MATERIALS = """
CREATE FUNCTION studyhall_course_materials(reader uuid)
RETURNS TABLE (material_id uuid, topic_id uuid)
LANGUAGE sql STABLE AS $$
    SELECT l.material_id, l.topic_id
    FROM course_access a
    JOIN course_sections s ON s.course_id = a.course_id AND s.status = 'public'
    JOIN lessons l ON l.section_id = s.id AND l.status IN ('public', 'preview')
    WHERE a.user_id = reader AND a.revoked_at IS NULL AND l.material_id IS NOT NULL
    UNION
    SELECT l.material_id, l.topic_id
    FROM courses c
    JOIN course_sections s ON s.course_id = c.id
    JOIN lessons l ON l.section_id = s.id
    WHERE c.author_id = reader AND l.material_id IS NOT NULL
$$
"""

READER = "NULLIF(current_setting('app.user_id', true), '')::uuid"


def _reader_policy(table: str, column: str) -> str:
    return (
        f"CREATE POLICY {table}_course_readers ON {table} FOR SELECT USING ("
        f"{column} IN (SELECT material_id FROM studyhall_course_materials({READER})))"
    )


def upgrade() -> None:
    op.create_foreign_key(
        op.f("fk_lessons_material_id_materials"),
        "lessons",
        "materials",
        ["material_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    for table in ("quizzes", "ai_artifacts"):
        op.create_index(op.f(f"ix_{table}_topic_id"), table, ["topic_id"], unique=False)
        op.create_foreign_key(
            op.f(f"fk_{table}_topic_id_topics"),
            table,
            "topics",
            ["topic_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.execute(COURSE_MATERIALS)
    op.execute(_reader_policy("materials", "id"))
    op.execute(_reader_policy("material_chunks", "material_id"))


def downgrade() -> None:
    op.execute("DROP POLICY material_chunks_course_readers ON material_chunks")
    op.execute("DROP POLICY materials_course_readers ON materials")
    op.execute("DROP FUNCTION studyhall_course_materials(uuid)")
    for table in ("ai_artifacts", "quizzes"):
        op.drop_constraint(op.f(f"fk_{table}_topic_id_topics"), table, type_="foreignkey")
        op.drop_index(op.f(f"ix_{table}_topic_id"), table_name=table)
    op.drop_constraint(op.f("fk_lessons_material_id_materials"), "lessons", type_="foreignkey")
