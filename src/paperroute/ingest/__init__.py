"""Getting papers in: sources, normalisation, the pipeline that stores them."""
