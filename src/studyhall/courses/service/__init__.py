"""The courses domain's public surface: what other domains may call
(``from studyhall.courses import service as courses``). Inside courses, modules import each
other directly, never this package.

Study reads the taxonomy and which materials courses make readable; progress reads course
progress. Billing does not call courses: courses registers its payment purpose with billing
(``reactions.py``), and other domains react to ``courses.events``.
"""

from __future__ import annotations

from studyhall.courses.models import Purchase
from studyhall.courses.service.buying import buy_and_pay, refund
from studyhall.courses.service.catalog import (
    browse,
    create_course,
    delete_course,
    featured_courses,
    has_access,
    outline,
    set_featured,
    update_course,
)
from studyhall.courses.service.grants import grant_access, revoke_grant
from studyhall.courses.service.learning import (
    complete_lesson,
    course_progress,
    lesson_material_ids,
    open_lesson,
    percent,
    progress_summaries,
    uncomplete_lesson,
)
from studyhall.courses.service.lookups import section_and_course
from studyhall.courses.service.products import (
    course_ids_of,
    create_product,
    delete_product,
    link_course,
    list_products,
    unlink_course,
    update_product,
    visible_product,
)
from studyhall.courses.service.purchases import (
    DEFAULT_REFUND_WINDOW,
    check_refundable,
    complete_purchase,
    get_purchase,
    lock_purchase,
    purchase_history,
    refund_purchase,
    refund_window,
)
from studyhall.courses.service.structure import (
    create_lesson,
    create_section,
    delete_lesson,
    delete_section,
    lessons_using_material,
    reorder_lessons,
    reorder_sections,
    update_lesson,
    update_section,
)
from studyhall.courses.service.taxonomy import (
    create_subject,
    create_topic,
    delete_subject,
    delete_topic,
    find_topic,
    list_subjects,
    list_topics,
    topic_lessons,
    topic_subject_and_difficulty,
    update_subject,
    update_topic,
)

__all__ = [
    "DEFAULT_REFUND_WINDOW",
    "Purchase",
    "browse",
    "buy_and_pay",
    "check_refundable",
    "complete_lesson",
    "complete_purchase",
    "course_ids_of",
    "course_progress",
    "create_course",
    "create_lesson",
    "create_product",
    "create_section",
    "create_subject",
    "create_topic",
    "delete_course",
    "delete_lesson",
    "delete_product",
    "delete_section",
    "delete_subject",
    "delete_topic",
    "featured_courses",
    "find_topic",
    "get_purchase",
    "grant_access",
    "has_access",
    "lesson_material_ids",
    "lessons_using_material",
    "link_course",
    "list_products",
    "list_subjects",
    "list_topics",
    "lock_purchase",
    "open_lesson",
    "outline",
    "percent",
    "progress_summaries",
    "purchase_history",
    "refund",
    "refund_purchase",
    "refund_window",
    "reorder_lessons",
    "reorder_sections",
    "revoke_grant",
    "section_and_course",
    "set_featured",
    "topic_lessons",
    "topic_subject_and_difficulty",
    "uncomplete_lesson",
    "unlink_course",
    "update_course",
    "update_lesson",
    "update_product",
    "update_section",
    "update_subject",
    "update_topic",
    "visible_product",
]
