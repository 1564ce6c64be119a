"""The Textual console. Only this package (and `themes`) may import Textual or Rich."""
