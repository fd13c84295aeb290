"""The library: where photos come from, what the user allowed, and the encrypted catalog of it all.

Only this package speaks SQL; every other stage calls a named function here.

- `library`: an opened data directory (settings, `keys`, the `catalog`, the encrypted `blobs`)
- `sources/`: the kinds of source (folder, upload, Google Takeout, Google Photos Picker) and their registry
- `google/`: talking to Google (OAuth, the Picker API, a picking session)
- `grants`: adding a source and allowing its albums; `consent`: exclusions and revocation
- `indexer`: reading the granted albums into the catalog, with `metadata` (EXIF) and `images` (safe decoding)
- `photos`: reading photos back; `overview`: what the UI and CLI list (sources, audit log, skipped files)
- `privacy`: what is stored, where, and whether it is encrypted
- `faces_store`, `people_store`, `creations_store`: the rows later stages keep here, read and written by name;
  `photo_context`: what a prompt may say about the photos (people, places, dates)
"""
