.PHONY: demo test setup lint format messages bench

demo:  ## set up, load the demo neighbourhood and serve on http://127.0.0.1:8000
	bash scripts/demo.sh

test:  ## set up and run the whole suite: ruff, makemigrations --check, pytest on SQLite and PostgreSQL
	bash scripts/test.sh

setup:
	bash scripts/setup.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .

format:
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

messages:  ## refresh the English catalogue after changing UI strings
	cd jiayuan && ../.venv/bin/jiayuan makemessages -l en --no-obsolete && ../.venv/bin/jiayuan compilemessages -l en

bench:  ## DATABASE_URL must name a migrated *bench* database; see each script's docstring
	.venv/bin/python bench/roster_import.py && .venv/bin/python bench/screening.py && .venv/bin/python bench/zones.py && .venv/bin/python bench/orders.py
