from alembic import context
from leadflow.db.migrate import run_env

run_env(context)
