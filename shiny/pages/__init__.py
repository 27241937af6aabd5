"""The five pages: each module has a ``page_ui`` and a ``page_server`` (Shiny modules) and the
plain functions that turn query results into headline numbers, figures and tables (tested
without a browser)."""
