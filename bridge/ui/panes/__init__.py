"""The console's three panes and the views inside them."""
