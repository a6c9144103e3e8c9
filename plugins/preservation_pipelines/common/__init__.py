"""Shared by every system: base operators, timetables and helpers no single system owns."""
