"""The database-free core of the study assistant.

Pure functions over bytes, text and small value objects; no I/O beyond what is passed in, no
network, no model downloads. The study service stores what these return and calls them from jobs:

- ``extract.extract_blocks``: upload bytes -> ``Block`` (page / slide / heading); ``blocks``
  holds the block and error types, ``formats`` the PDF, DOCX and PPTX readers
- ``chunk.chunk_blocks``: blocks -> ``Chunk`` (300-400 tokens, overlap, offsets)
- ``lexical``: analyzer, ``BM25Index``, ``rrf``
- ``summarize.summarize``, ``generate.generate_flashcards`` / ``generate_questions``,
  ``answer.answer_question`` / ``filter_citations``: ``Passage`` -> ``schemas`` payloads
- ``validate.validate_card`` / ``validate_question``: rules for either engine's output
- ``evaluate``: quality runners on the evaluation data sets
- ``grounding``: which sentences of a model's answer its citations support
"""
