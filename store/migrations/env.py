from alembic import context
from sqlalchemy import create_engine

from store.models import Base

config = context.config
engine = create_engine(config.attributes["url"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
