"""Study's adapters to the outside world: the OpenAI-compatible LLM host (``llm``), embedding
providers, remote or a local sentence-transformers model (``embeddings``), and file storage on
disk or S3 (``storage``). They know nothing of requests or the database."""
