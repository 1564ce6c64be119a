"""Widgets the panes and screens are built from: lines, tables, the header, the footer."""
