"""Screens over the panes: modals (help, details, prompts) and the report views."""
