"""Server-rendered pages: the Phone Health guide (the `doc_url` targets) and, later, the dashboard."""
