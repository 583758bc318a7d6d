"""The web app: server-rendered pages (Jinja2 + htmx) over the same domain services as the API."""
