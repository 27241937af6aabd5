"""One construct per capability: storage, pipeline (with its alarms), warehouse, dashboards."""
