"""PostgreSQL: the reference engine, the embedded cluster, the state store."""
