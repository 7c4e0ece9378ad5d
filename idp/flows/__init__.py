"""Interactive login journeys, one module per journey, and the pages that
render them. A flow class holds the rules (steps, transitions, checks) and no
HTTP; the same classes can serve the web pages and the first-party grants."""
