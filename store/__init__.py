"""PostgreSQL access shared by the workers and the API: pool, migrations, batched writes."""
