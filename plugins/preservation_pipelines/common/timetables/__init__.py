"""Timetables (registered by ``timetables_plugin``)."""
