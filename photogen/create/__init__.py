"""What a user makes: context-aware prompts, style presets, instant styles, templates (cards, album
pages, social posts), upscaling for print, and provenance on every output.

Modules are imported directly (`from photogen.create.templates import render_card`); importing
this package does nothing else.
"""
