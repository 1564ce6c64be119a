"""The domain's values and pure functions: models, actions, the filter language, text, time.

Every layer imports these; they import nothing of bridge above them."""
