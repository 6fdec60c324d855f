"""The derived search index: lexical (tantivy), vectors (faiss), embeddings, sync."""
