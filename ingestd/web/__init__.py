"""The web console (FastAPI, Jinja2, htmx): the product's face for officers, team heads,
法制科, the 信息中心 and 督察. Reads and changes go through the same code as the command line."""
