"""Cloud models (OpenAI, Anthropic, Gemini), used only when the user opts in.

Nothing here decides whether a cloud call is allowed: ``desktop.cloud_policy``
does, before any of these modules is imported.
"""
