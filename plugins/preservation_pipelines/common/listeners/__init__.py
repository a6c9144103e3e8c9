"""Listeners shared by every system (loaded by the run_notes plugin)."""
