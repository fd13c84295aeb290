"""What a user makes: context-aware prompts, style presets, instant styles, templates (cards, album
pages, social posts), upscaling for print, and provenance on every output.

- The studio: `studio` (one `Studio.create` call from request to recorded outputs), `request` (what is
  asked and what comes back), `likeness` (who each face is and how alike results stay), `creations`
  (past creations: reopen, download, delete).
- Prompts: `prompt` (the parser), `prompt_time` (dates), `prompt_ideas` (suggestions), `context` (what
  the library knows, in the parser's shapes), `presets` (styles and speeds).
- Pictures: `instant` (classic filters that keep faces), `templates` (cards, posts, album pages),
  `layout` (fonts, fitted text, smart crops), `print_page` (print sizes and the print PDF), `upscale`.
- Honest outputs: `provenance` (writes the file), `claim`, `content_credentials` (C2PA), `xmp`,
  `watermark`, `verify` (reads it all back).

Modules are imported directly (`from photogen.create.templates import render_card`); importing
this package does nothing else.
"""
