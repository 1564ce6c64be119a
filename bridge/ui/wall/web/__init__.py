"""`bridge wall --serve`: the read-only wall in a browser, through textual-serve.

Each browser that connects gets its own `bridge wall` process (textual-serve's
`AppService`, Textual's web driver), which opens the store read-only exactly as
`bridge wall` in a terminal does. The page is ours (templates/, static/), not
textual-serve's: a kiosk has no operator and may have no internet, so it loads
nothing from outside this server, reconnects by itself, and covers the screen
with STALE while it is not connected.
"""

from bridge.ui.wall.web.server import ServeSettings, WallWebServer, serve_wall

__all__ = ["ServeSettings", "WallWebServer", "serve_wall"]
