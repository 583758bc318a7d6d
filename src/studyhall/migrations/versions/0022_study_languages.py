"""Study chunks know their language; Arabic and mixed Arabic/English chunks are indexed with a
configuration that stems Arabic.

- ``arabic_english``: a text-search configuration copied from ``english`` whose mappings for
  words holding non-ASCII letters (``word``, ``hword``, ``hword_part``) use PostgreSQL's
  ``arabic_stem`` Snowball dictionary instead (hamza forms of alef folded, diacritics and tatweel
  dropped, article and affixes stripped, Arabic stop words removed). ASCII words keep
  ``english_stem``, so the English terms inside an Arabic text stem as in English notes.
- ``material_chunks.language``: ``en``, ``ar`` or ``mixed`` (share of Arabic letters, written by
  the processing job); NULL for chunks stored before, which are English.
- ``material_chunks.search_vector`` was generated with ``english``; it becomes a plain column
  kept by a trigger that picks the configuration from ``language`` on insert and whenever the
  text, the language or the vector itself is written. Dropping the expression keeps every stored
  vector (no rewrite, no index rebuild); a generated column cannot follow a per-row
  configuration without rewriting the table. Updates of other columns (the embeddings) do not
  fire the trigger.
- Chunks already stored that hold Arabic letters get their language (the share of Arabic among
  Arabic and Latin letters; 0.8 and above is ``ar``), hence Arabic lexemes, and their materials'
  lexeme counts are taken again. Only those rows are written.

Revision ID: 0022_study_languages
Revises: 0021_progress_board_counts
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_study_languages"
down_revision: str | None = "0021_progress_board_counts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The Arabic blocks, presentation forms included (``engine.language``).
ARABIC = "\u0600-\u06ff\u0750-\u077f\u0870-\u08ff\ufb50-\ufdff\ufe70-\ufeff"
LATIN = "A-Za-z\u00c0-\u024f"

SEARCH_VECTOR_FUNCTION = """
CREATE FUNCTION studyhall_chunk_search_vector() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector := to_tsvector(
        CASE WHEN NEW.language IN ('ar', 'mixed') THEN 'arabic_english'
             ELSE 'english' END::regconfig,
        NEW.chunk_text);
    RETURN NEW;
END
$$
"""

BACKFILL_LANGUAGE = f"""
UPDATE material_chunks SET language = CASE
    WHEN length(regexp_replace(chunk_text, '[^{ARABIC}]', '', 'g'))
         >= 0.8 * length(regexp_replace(chunk_text, '[^{ARABIC}{LATIN}]', '', 'g'))
    THEN 'ar' ELSE 'mixed' END
WHERE chunk_text ~ '[{ARABIC}]'
"""

# The materials with chunks holding Arabic letters: their lexemes are counted again.
ARABIC_MATERIALS = (
    "SELECT DISTINCT material_id FROM material_chunks WHERE language IN ('ar', 'mixed')"
)
FORGET_LEXEMES = f"DELETE FROM material_lexemes WHERE material_id IN ({ARABIC_MATERIALS})"
COUNT_LEXEMES = f"""
INSERT INTO material_lexemes (lexeme, material_id, user_id, chunks)
SELECT l, c.material_id, c.user_id, count(*)
FROM material_chunks c, unnest(tsvector_to_array(c.search_vector)) AS l
WHERE c.material_id IN ({ARABIC_MATERIALS})
GROUP BY l, c.material_id, c.user_id
"""


def upgrade() -> None:
    op.execute("CREATE TEXT SEARCH CONFIGURATION arabic_english (COPY = english)")
    op.execute(
        "ALTER TEXT SEARCH CONFIGURATION arabic_english "
        "ALTER MAPPING FOR word, hword, hword_part WITH arabic_stem"
    )
    op.execute("ALTER TABLE material_chunks ADD COLUMN language text")
    # The linter's worry is a client that relied on the database computing the column: the
    # trigger created next computes it on every write that could change it, in this same
    # transaction, and no client writes it.
    op.execute(
        "-- squawk-ignore ban-drop-generated-expression\n"
        "ALTER TABLE material_chunks ALTER COLUMN search_vector DROP EXPRESSION"
    )
    op.execute(SEARCH_VECTOR_FUNCTION)
    op.execute(
        "CREATE TRIGGER trg_material_chunks_search_vector "
        "BEFORE INSERT OR UPDATE OF chunk_text, language, search_vector ON material_chunks "
        "FOR EACH ROW EXECUTE FUNCTION studyhall_chunk_search_vector()"
    )
    op.execute(BACKFILL_LANGUAGE)
    op.execute(FORGET_LEXEMES)
    op.execute(COUNT_LEXEMES)


# The view over the chunks (migration 0011) names ``search_vector``: it is dropped and created
# again from its own stored definition, whatever later migrations made of it.
RESTORE_GENERATED_VECTOR = """
DO $$
DECLARE
    definition text := pg_get_viewdef('material_chunks_searchable'::regclass);
BEGIN
    DROP VIEW material_chunks_searchable;
    ALTER TABLE material_chunks DROP COLUMN search_vector;
    ALTER TABLE material_chunks ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('english'::regconfig, chunk_text)) STORED;
    CREATE INDEX ix_material_chunks_search_vector ON material_chunks
        USING gin (search_vector) WITH (fastupdate = off);
    EXECUTE 'CREATE VIEW material_chunks_searchable AS '
        || rtrim(definition, ';') || ' WITH LOCAL CHECK OPTION';
END
$$
"""


def downgrade() -> None:
    # Back to one English vector per chunk, generated as before, and English lexeme counts.
    op.execute("DROP TRIGGER trg_material_chunks_search_vector ON material_chunks")
    op.execute("DROP FUNCTION studyhall_chunk_search_vector()")
    op.execute(RESTORE_GENERATED_VECTOR)
    op.execute(FORGET_LEXEMES)
    op.execute(COUNT_LEXEMES)
    op.execute("ALTER TABLE material_chunks DROP COLUMN language")
    op.execute("DROP TEXT SEARCH CONFIGURATION arabic_english")
