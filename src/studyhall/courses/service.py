"""The courses domain's service surface. Other domains import this module only
(``from studyhall.courses import service as courses``); billing calls ``complete_purchase`` when a
payment succeeds and ``refund_purchase`` when one is refunded."""

from __future__ import annotations

from studyhall.courses.catalog import (
    browse,
    create_course,
    delete_course,
    has_access,
    outline,
    update_course,
)
from studyhall.courses.learning import (
    complete_lesson,
    course_progress,
    open_lesson,
    progress_summaries,
    uncomplete_lesson,
)
from studyhall.courses.purchases import (
    DEFAULT_REFUND_WINDOW,
    checkout,
    complete_purchase,
    get_purchase,
    purchase_history,
    refund_purchase,
)
from studyhall.courses.store import (
    course_ids_of,
    create_product,
    delete_product,
    grant_access,
    link_course,
    list_products,
    revoke_grant,
    unlink_course,
    update_product,
    visible_product,
)
from studyhall.courses.structure import (
    create_lesson,
    create_section,
    delete_lesson,
    delete_section,
    reorder_lessons,
    reorder_sections,
    update_lesson,
    update_section,
)
from studyhall.courses.taxonomy import (
    create_subject,
    create_topic,
    delete_subject,
    delete_topic,
    list_subjects,
    list_topics,
    topic_lessons,
    update_subject,
    update_topic,
)

__all__ = [
    "DEFAULT_REFUND_WINDOW",
    "browse",
    "checkout",
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
    "get_purchase",
    "grant_access",
    "has_access",
    "link_course",
    "list_products",
    "list_subjects",
    "list_topics",
    "open_lesson",
    "outline",
    "progress_summaries",
    "purchase_history",
    "refund_purchase",
    "reorder_lessons",
    "reorder_sections",
    "revoke_grant",
    "topic_lessons",
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
